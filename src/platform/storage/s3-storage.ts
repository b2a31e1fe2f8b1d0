import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { assertValidKey, type ObjectStorage } from './object-storage';

export interface S3StorageOptions {
  bucket: string;
  region: string;
  /** An S3-compatible service (MinIO, Cloudflare R2, NCP Object Storage); AWS itself when absent. */
  endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible services need. */
  forcePathStyle: boolean;
  /** Without them the SDK's default chain applies (environment, instance or task role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

// "No object under this key" is NoSuchKey, or a bare 404 from a service that sends no error body.
// A missing bucket is a 404 too, but a configuration error: reporting it as a missing object
// would have the worker fail every photo for good ("original missing") instead of retrying.
const isMissing = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name === 'NoSuchBucket') return false;
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
};

async function toBuffer(body: Readable | Buffer): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Objects in one bucket. A body is gathered in memory before a single PutObject: the objects
 * here are at most a few megabytes (uploads stop at 10 MB while streaming), and PutObject needs
 * a known length, which a multipart upload would only avoid for much larger files. If the body
 * stream fails, nothing was sent, so nothing is left under the key.
 */
export function s3Storage(options: S3StorageOptions): ObjectStorage {
  const client = new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    // Since 3.729 the SDK adds CRC32 checksums to every upload by default, which several
    // S3-compatible services refuse; only send them where the API requires one.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const Bucket = options.bucket;

  return {
    driver: 's3',
    async put(key, body, contentType) {
      assertValidKey(key);
      const bytes = await toBuffer(body);
      await client.send(new PutObjectCommand({ Bucket, Key: key, Body: bytes, ContentType: contentType, ContentLength: bytes.length }));
      return { bytes: bytes.length };
    },
    async get(key) {
      assertValidKey(key);
      try {
        const res = await client.send(new GetObjectCommand({ Bucket, Key: key }));
        if (!res.Body) return null;
        return Buffer.from(await res.Body.transformToByteArray());
      } catch (err) {
        if (isMissing(err)) return null;
        throw err;
      }
    },
    async open(key) {
      assertValidKey(key);
      try {
        const res = await client.send(new GetObjectCommand({ Bucket, Key: key }));
        if (!res.Body) return null;
        return { stream: res.Body as Readable, contentType: res.ContentType ?? 'application/octet-stream', bytes: res.ContentLength ?? 0 };
      } catch (err) {
        if (isMissing(err)) return null;
        throw err;
      }
    },
    async delete(keys) {
      // One DeleteObject per key: DeleteObjects needs a Content-MD5 or checksum header that not
      // every S3-compatible service accepts, and there are only ever a handful of keys here.
      for (const key of keys) assertValidKey(key);
      await Promise.all(keys.map((Key) => client.send(new DeleteObjectCommand({ Bucket, Key }))));
    },
    async close() {
      client.destroy();
    },
  };
}
