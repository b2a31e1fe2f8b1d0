import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createObjectStorage, type StorageConfig } from '../../src/platform/storage';
import { s3Storage } from '../../src/platform/storage/s3-storage';
import { startS3Server, type S3TestServer } from '../support/s3-server';
import { waitFor } from '../support/wait';
import { objectStorageContract } from './object-storage.contract';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const localDir = async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'junggo-storage-'));
  dirs.push(dir);
  return dir;
};

/** Every file under the directory, at any depth, relative to it. */
const filesUnder = async (dir: string) =>
  (await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();

/** A body that sends `bytes` and then nothing more, until it is destroyed: a client that stalls. */
const stalling = (bytes: number) => {
  const body = new Readable({ read() {} });
  body.push(randomBytes(bytes));
  return body;
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

  it('when a streamed body arrives, then it waits in a temporary file, not in memory, and the file is gone once the put ends either way', async () => {
    // A client that sends a photo slowly, or stalls, would otherwise hold its megabytes in memory.
    const spoolDir = await localDir();
    const config = await s3Config();
    const storage = s3Storage({
      bucket: config.S3_BUCKET!,
      region: config.S3_REGION,
      endpoint: config.S3_ENDPOINT!,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
      ...(config.S3_ACCESS_KEY_ID && config.S3_SECRET_ACCESS_KEY ? { credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY } } : {}),
      spoolDir,
    });
    const key = `contract-spool-${randomBytes(5).toString('hex')}/original`;
    try {
      const body = stalling(1024 * 1024);
      const put = storage.put(key, body, 'application/octet-stream');
      const [spooled] = await waitFor('the body in a spool file', async () => {
        const files = await filesUnder(spoolDir);
        return files.length === 1 && (await stat(path.join(spoolDir, files[0]!))).size === 1024 * 1024 && files;
      });
      expect(spooled).toMatch(/\.part$/);
      body.destroy(new Error('client went away'));
      await expect(put).rejects.toThrow('client went away');
      expect(await filesUnder(spoolDir)).toEqual([]);
      expect(await storage.get(key)).toBeNull();

      const bytes = randomBytes(3 * 1024 * 1024);
      expect(await storage.put(key, Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), 'application/octet-stream')).toEqual({ bytes: bytes.length });
      expect((await storage.get(key))?.equals(bytes)).toBe(true);
      expect(await filesUnder(spoolDir)).toEqual([]);
    } finally {
      await storage.delete([key]);
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
    const failing = stalling(50_000);
    setTimeout(() => failing.destroy(new Error('client went away')), 10);
    await expect(storage.put('originals/p/i', failing, 'image/jpeg')).rejects.toThrow('client went away');
    expect(await filesUnder(dir)).toEqual([]);
  });

  it('when a temporary file has been left untouched past the given age (its process died mid-put), then sweepTemporary removes it, and leaves puts in progress and stored objects alone', async () => {
    const dir = await localDir();
    const storage = createObjectStorage({ STORAGE_DIR: dir, S3_REGION: 'x', S3_FORCE_PATH_STYLE: false });
    await storage.put('products/p/i.webp', Buffer.from('stored'), 'image/webp');
    const [dead, alive] = [stalling(1000), stalling(1000)];
    const puts = [storage.put('originals/p/dead', dead, 'image/jpeg'), storage.put('originals/p/alive', alive, 'image/jpeg')].map((p) => p.catch((err: Error) => err.message));
    const temporary = await waitFor('both puts writing', async () => {
      const files = (await filesUnder(dir)).filter((f) => f.endsWith('.part'));
      return files.length === 2 && files;
    });
    // The dead process's file: last written to two hours ago.
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(path.join(dir, temporary[0]!), twoHoursAgo, twoHoursAgo);

    expect(await storage.sweepTemporary(3_600)).toBe(1);
    expect(await filesUnder(dir)).toEqual([temporary[1]!, 'products/p/i.webp'].sort());
    dead.destroy(new Error('gone'));
    alive.destroy(new Error('gone'));
    expect(await Promise.all(puts)).toEqual(['gone', 'gone']);
  });
});
