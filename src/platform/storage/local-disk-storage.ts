import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { assertValidKey, contentTypeOf, type ObjectStorage } from './object-storage';
import { removeStaleSpools, spool } from './spool';

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Objects as files under one directory. Writes go to a temporary file and are renamed into
 * place, so a reader never sees half a file and a failed upload leaves nothing behind. The media
 * type is not stored: it follows from the key's extension (contentTypeOf).
 */
export function localDiskStorage(directory: string): ObjectStorage {
  const root = path.resolve(directory);
  // Inside the root, so the rename stays on one file system; one folder, so that what a dead
  // process left there is found without walking every listing's. No key can name it (a key's
  // segments never start with a dot).
  const temporary = path.join(root, '.tmp');
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
      const spooled = await spool(body, temporary);
      try {
        await mkdir(path.dirname(file), { recursive: true });
        await rename(spooled.file, file);
        return { bytes: spooled.bytes };
      } catch (err) {
        await rm(spooled.file, { force: true });
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
    sweepTemporary: (olderThanSeconds) => removeStaleSpools(temporary, olderThanSeconds),
    async close() {},
  };
}
