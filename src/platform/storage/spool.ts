import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const SUFFIX = '.part';

/**
 * Writes a body to a new temporary file in `directory`, so that a sender that is slow or stalls
 * costs disk, not memory, and what follows gets a complete body of known length. When the body
 * fails, the file is removed and the body's error rethrown.
 */
export async function spool(body: Readable | Buffer, directory: string): Promise<{ file: string; bytes: number }> {
  await mkdir(directory, { recursive: true });
  const file = path.join(directory, `${randomBytes(12).toString('hex')}${SUFFIX}`);
  try {
    await pipeline(Buffer.isBuffer(body) ? Readable.from([body]) : body, createWriteStream(file, { flags: 'wx' }));
    return { file, bytes: (await stat(file)).size };
  } catch (err) {
    await rm(file, { force: true });
    throw err;
  }
}

/**
 * Removes the spooled files of `directory` untouched for longer than `olderThanSeconds`: those of
 * a process that died while writing or before moving them on (a live write touches its file with
 * every chunk). How many were removed.
 */
export async function removeStaleSpools(directory: string, olderThanSeconds: number): Promise<number> {
  const names = await readdir(directory).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  const before = Date.now() - olderThanSeconds * 1000;
  let removed = 0;
  for (const name of names.filter((n) => n.endsWith(SUFFIX))) {
    const file = path.join(directory, name);
    const found = await stat(file).catch(() => null);
    if (!found || found.mtimeMs > before) continue;
    await rm(file, { force: true });
    removed++;
  }
  return removed;
}
