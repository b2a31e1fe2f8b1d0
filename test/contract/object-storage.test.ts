import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createObjectStorage } from '../../src/platform/storage';
import { objectStorageContract } from './object-storage.contract';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const localDir = async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'junggo-storage-'));
  dirs.push(dir);
  return dir;
};

objectStorageContract('local disk', async () => createObjectStorage({ STORAGE_DIR: await localDir(), S3_REGION: 'ap-northeast-2', S3_FORCE_PATH_STYLE: false }));

// Only with an S3-compatible endpoint (MinIO: S3_ENDPOINT=http://127.0.0.1:9000 S3_BUCKET=… keys…);
// without one no suite is registered, so nothing is counted as passed.
const s3 = process.env.S3_ENDPOINT;
if (s3) {
  objectStorageContract('s3', async () =>
    createObjectStorage({
      STORAGE_DIR: 'unused',
      S3_BUCKET: process.env.S3_BUCKET ?? 'junggo-test',
      S3_ENDPOINT: s3,
      S3_REGION: process.env.S3_REGION ?? 'us-east-1',
      S3_ACCESS_KEY_ID: process.env.S3_ACCESS_KEY_ID,
      S3_SECRET_ACCESS_KEY: process.env.S3_SECRET_ACCESS_KEY,
      S3_FORCE_PATH_STYLE: (process.env.S3_FORCE_PATH_STYLE ?? 'true') === 'true',
    }),
  );
}

describe('local disk storage', () => {
  it('when a put fails midway, then no temporary file is left in the directory either', async () => {
    const dir = await localDir();
    const storage = createObjectStorage({ STORAGE_DIR: dir, S3_REGION: 'x', S3_FORCE_PATH_STYLE: false });
    const { Readable } = await import('node:stream');
    const failing = new Readable({ read() {} });
    failing.push(Buffer.alloc(50_000));
    setTimeout(() => failing.destroy(new Error('client went away')), 10);
    await expect(storage.put('originals/p/i', failing, 'image/jpeg')).rejects.toThrow('client went away');
    expect(await readdir(path.join(dir, 'originals', 'p'))).toEqual([]);
  });
});
