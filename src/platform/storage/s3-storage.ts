import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { assertValidKey, type ObjectStorage } from './object-storage';
import { removeStaleSpools, spool } from './spool';

export interface S3StorageOptions {
  bucket: string;
  region: string;
  /** An S3-compatible service (MinIO, Cloudflare R2, NCP Object Storage); AWS itself when absent. */
  endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible services need. */
  forcePathStyle: boolean;
  /** Without them the SDK's default chain applies (environment, instance or task role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Where streamed bodies wait before they are sent; a folder of the system's temporary directory by default. */
  spoolDir?: string;
}

// "No object under this key" is NoSuchKey, or a bare 404 from a service that sends no error body.
// A missing bucket is a 404 too, but a configuration error: reporting it as a missing object
// would have the worker fail every photo for good ("original missing") instead of retrying.
const isMissing = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name === 'NoSuchBucket') return false;
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
};

/**
 * Objects in one bucket, each sent with a single PutObject, which needs the body's length up
 * front (a multipart upload would avoid that only for much larger files: uploads stop at 10 MB).
 * A streamed body (an upload arriving from a client) is first spooled to a temporary file, not
 * gathered in memory, where a client sending slowly or stalling would hold its megabytes for as
 * long as it likes; then the file is streamed to the bucket. If the body stream fails, nothing
 * was sent, so nothing is left under the key. The SDK does not retry a streamed PutObject (it
 * cannot replay the stream): a failed upload is answered with an error and sent again by its
 * client; the worker's puts are buffers, retried by the SDK.
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
  const spoolDir = options.spoolDir ?? path.join(tmpdir(), 'junggo-s3-spool');

  return {
    driver: 's3',
    async put(key, body, contentType) {
      assertValidKey(key);
      const send = (Body: Buffer | Readable, bytes: number) => client.send(new PutObjectCommand({ Bucket, Key: key, Body, ContentType: contentType, ContentLength: bytes }));
      if (Buffer.isBuffer(body)) {
        await send(body, body.length);
        return { bytes: body.length };
      }
      const spooled = await spool(body, spoolDir);
      const file = createReadStream(spooled.file);
      try {
        await send(file, spooled.bytes);
        return { bytes: spooled.bytes };
      } finally {
        // A failed request may leave the file stream open.
        file.destroy();
        await rm(spooled.file, { force: true });
      }
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
        return { stream: res.Body as Readable, contentType: res.ContentType ?? 'application/octet-stream', ...(res.ContentLength === undefined ? {} : { bytes: res.ContentLength }) };
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
    sweepTemporary: (olderThanSeconds) => removeStaleSpools(spoolDir, olderThanSeconds),
    async close() {
      client.destroy();
    },
  };
}
