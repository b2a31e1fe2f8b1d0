import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertValidKey, contentTypeOf, type ObjectStorage } from './object-storage';

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Objects as files under one directory. Writes go to a temporary sibling and are renamed into
 * place, so a reader never sees half a file and a failed upload leaves nothing behind. The media
 * type is not stored: it follows from the key's extension (contentTypeOf).
 */
export function localDiskStorage(directory: string): ObjectStorage {
  const root = path.resolve(directory);
  const fileOf = (key: string) => {
    assertValidKey(key);
    const file = path.resolve(root, key);
    // assertValidKey already rules out traversal; this is the belt to its braces.
    if (!file.startsWith(root + path.sep)) throw new Error('storage key escapes the storage directory');
    return file;
  };

  return {
    driver: 'local',
    async put(key, body) {
      const file = fileOf(key);
      await mkdir(path.dirname(file), { recursive: true });
      const temporary = `${file}.${randomBytes(6).toString('hex')}.part`;
      try {
        await pipeline(Buffer.isBuffer(body) ? Readable.from([body]) : body, createWriteStream(temporary, { flags: 'wx' }));
        const { size } = await stat(temporary);
        await rename(temporary, file);
        return { bytes: size };
      } catch (err) {
        await rm(temporary, { force: true });
        throw err;
      }
    },
    async get(key) {
      try {
        return await readFile(fileOf(key));
      } catch (err) {
        if (isMissing(err)) return null;
        throw err;
      }
    },
    async open(key) {
      const file = fileOf(key);
      try {
        const found = await stat(file);
        // A key that names a folder (a listing's) is no object: answered as missing, not as a read error mid-response.
        if (!found.isFile()) return null;
        return { stream: createReadStream(file), contentType: contentTypeOf(key), bytes: found.size };
      } catch (err) {
        if (isMissing(err)) return null;
        throw err;
      }
    },
    async delete(keys) {
      await Promise.all(keys.map((key) => rm(fileOf(key), { force: true })));
    },
    async close() {},
  };
}
