import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createObjectStorage, type StorageConfig } from '../../src/platform/storage';
import { startS3Server, type S3TestServer } from '../support/s3-server';
import { objectStorageContract } from './object-storage.contract';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const localDir = async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'junggo-storage-'));
  dirs.push(dir);
  return dir;
};

objectStorageContract('local disk', async () => createObjectStorage({ STORAGE_DIR: await localDir(), S3_REGION: 'ap-northeast-2', S3_FORCE_PATH_STYLE: false }));

// The S3 adapter runs in every test run: against the service in S3_ENDPOINT when it is set
// (MinIO: S3_ENDPOINT=http://127.0.0.1:9000 S3_BUCKET=… S3_ACCESS_KEY_ID=… S3_SECRET_ACCESS_KEY=…),
// otherwise against s3rver, started here on loopback on first use and stopped after the file.
const s3Endpoint = process.env.S3_ENDPOINT;
let s3rver: Promise<S3TestServer> | undefined;
afterAll(async () => (await s3rver)?.stop());

async function s3Config(overrides: Partial<StorageConfig> = {}): Promise<StorageConfig> {
  if (s3Endpoint) {
    return {
      STORAGE_DIR: 'unused',
      S3_BUCKET: process.env.S3_BUCKET ?? 'junggo-test',
      S3_ENDPOINT: s3Endpoint,
      S3_REGION: process.env.S3_REGION ?? 'us-east-1',
      S3_ACCESS_KEY_ID: process.env.S3_ACCESS_KEY_ID,
      S3_SECRET_ACCESS_KEY: process.env.S3_SECRET_ACCESS_KEY,
      S3_FORCE_PATH_STYLE: (process.env.S3_FORCE_PATH_STYLE ?? 'true') === 'true',
      ...overrides,
    };
  }
  const server = await (s3rver ??= startS3Server());
  return {
    STORAGE_DIR: 'unused',
    S3_BUCKET: server.bucket,
    S3_ENDPOINT: server.endpoint,
    S3_REGION: server.region,
    S3_ACCESS_KEY_ID: server.accessKeyId,
    S3_SECRET_ACCESS_KEY: server.secretAccessKey,
    S3_FORCE_PATH_STYLE: true,
    ...overrides,
  };
}

objectStorageContract(s3Endpoint ? `s3 (${s3Endpoint})` : 's3 (s3rver on loopback)', async () => createObjectStorage(await s3Config()));

describe('s3 storage', () => {
  it('when the bucket does not exist, then get and open reject instead of reporting a missing object', async () => {
    // A worker with a mistyped bucket must retry and alert, not mark every photo "original missing".
    const storage = createObjectStorage(await s3Config({ S3_BUCKET: `junggo-missing-${randomBytes(5).toString('hex')}` }));
    try {
      await expect(storage.get('originals/p/i')).rejects.toMatchObject({ name: 'NoSuchBucket' });
      await expect(storage.open('products/p/i.webp')).rejects.toMatchObject({ name: 'NoSuchBucket' });
    } finally {
      await storage.close();
    }
  });

  it('when the secret key is wrong, then the service refuses the signature and every operation rejects', async () => {
    // Also shows that the service checks SigV4, so the contract's passing requests were really signed.
    const { S3_ACCESS_KEY_ID = 'AKIAJUNGGOTEST' } = await s3Config();
    const storage = createObjectStorage(await s3Config({ S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY: 'not-the-secret' }));
    try {
      await expect(storage.put('contract-auth/x.webp', Buffer.from('x'), 'image/webp')).rejects.toThrow();
      await expect(storage.get('contract-auth/x.webp')).rejects.toThrow();
      await expect(storage.open('contract-auth/x.webp')).rejects.toThrow();
      await expect(storage.delete(['contract-auth/x.webp'])).rejects.toThrow();
    } finally {
      await storage.close();
    }
  });
});

describe('local disk storage', () => {
  it('when a put fails midway, then no temporary file is left in the directory either', async () => {
    const dir = await localDir();
    const storage = createObjectStorage({ STORAGE_DIR: dir, S3_REGION: 'x', S3_FORCE_PATH_STYLE: false });
    const failing = new Readable({ read() {} });
    failing.push(Buffer.alloc(50_000));
    setTimeout(() => failing.destroy(new Error('client went away')), 10);
    await expect(storage.put('originals/p/i', failing, 'image/jpeg')).rejects.toThrow('client went away');
    expect(await readdir(path.join(dir, 'originals', 'p'))).toEqual([]);
  });
});
