import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectStorage } from '../../src/platform/storage';

/** The behaviour every ObjectStorage adapter must have; run against each configured one. */
export function objectStorageContract(name: string, open: () => Promise<ObjectStorage>): void {
  describe(`ObjectStorage contract: ${name}`, () => {
    let storage: ObjectStorage;
    // Unique per run: adapters share a bucket or directory with other runs.
    const prefix = `contract-${randomBytes(5).toString('hex')}`;
    const key = (leaf: string) => `${prefix}/${leaf}`;
    const written: string[] = [];

    beforeAll(async () => {
      storage = await open();
    });
    afterAll(async () => {
      await storage.delete(written);
      await storage.close();
    });

    it('when a buffer is put, then get returns the same bytes and open streams them with the size and type', async () => {
      const bytes = randomBytes(70_000);
      const k = key('photo.webp');
      written.push(k);
      expect(await storage.put(k, bytes, 'image/webp')).toEqual({ bytes: bytes.length });
      expect((await storage.get(k))?.equals(bytes)).toBe(true);
      const opened = await storage.open(k);
      expect(opened?.bytes).toBe(bytes.length);
      expect(opened?.contentType).toBe('image/webp');
      const chunks: Buffer[] = [];
      for await (const chunk of opened!.stream) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
    });

    // The media route serves objects with pipeline(opened.stream, res): the two cases below do the
    // same with a slow reader (a phone on a weak connection) and a reader that goes away.
    it('when a large object is opened and piped to a slow reader, then the reader gets every byte in order and as many as opened.bytes says', async () => {
      const bytes = randomBytes(4 * 1024 * 1024);
      const k = key('large.webp');
      written.push(k);
      await storage.put(k, bytes, 'image/webp');
      const opened = await storage.open(k);
      expect(opened?.bytes).toBe(bytes.length);
      const hash = createHash('sha256');
      let received = 0;
      const slowReader = new Writable({
        highWaterMark: 16 * 1024,
        write(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          received += chunk.length;
          setImmediate(done);
        },
      });
      await pipeline(opened!.stream, slowReader);
      expect(received).toBe(bytes.length);
      expect(hash.digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
    });

    it('when readers of opened objects go away midway, many times over, then each stream is released and the storage keeps serving', async () => {
      const bytes = randomBytes(1024 * 1024);
      const k = key('abandoned.webp');
      written.push(k);
      await storage.put(k, bytes, 'image/webp');
      // More than an HTTP client's connection pool (the AWS SDK's holds 50): a stream that kept its
      // connection after its reader went away would leave the later opens waiting for good.
      for (let i = 0; i < 60; i++) {
        const opened = await storage.open(k);
        // Closed, not merely unread (an HTTP response body closes a moment after its socket).
        const closed = new Promise((resolve) => opened!.stream.once('close', resolve));
        const goneAway = new Writable({
          write(_chunk, _encoding, done) {
            done(new Error('client went away'));
          },
        });
        await expect(pipeline(opened!.stream, goneAway)).rejects.toThrow('client went away');
        await closed;
      }
      expect((await storage.get(k))?.equals(bytes)).toBe(true);
    });

    it('when a stream is put, then all its chunks are stored in order', async () => {
      const parts = [randomBytes(10), randomBytes(65_536), randomBytes(3)];
      const k = key('streamed');
      written.push(k);
      expect(await storage.put(k, Readable.from(parts), 'application/octet-stream')).toEqual({ bytes: 65_549 });
      expect((await storage.get(k))?.equals(Buffer.concat(parts))).toBe(true);
    });

    it('when the body stream fails midway, then put rejects with its error and nothing is stored under the key', async () => {
      const k = key('broken');
      written.push(k);
      const failing = new Readable({ read() {} });
      failing.push(randomBytes(100_000));
      setTimeout(() => failing.destroy(new Error('over the limit')), 20);
      await expect(storage.put(k, failing, 'image/jpeg')).rejects.toThrow('over the limit');
      expect(await storage.get(k)).toBeNull();
      expect(await storage.open(k)).toBeNull();
    });

    it('when a key is put twice, then the second content replaces the first', async () => {
      const k = key('replaced.webp');
      written.push(k);
      await storage.put(k, Buffer.from('first'), 'image/webp');
      await storage.put(k, Buffer.from('second'), 'image/webp');
      expect((await storage.get(k))?.toString()).toBe('second');
    });

    it('when keys are deleted, then they hold nothing, and deleting missing keys is no error', async () => {
      const a = key('a.webp');
      const b = key('b.webp');
      await storage.put(a, Buffer.from('a'), 'image/webp');
      await storage.put(b, Buffer.from('b'), 'image/webp');
      await storage.delete([a, key('never-written')]);
      expect(await storage.get(a)).toBeNull();
      expect((await storage.get(b))?.toString()).toBe('b');
      await storage.delete([b]);
      expect(await storage.get(b)).toBeNull();
    });

    it('when nothing was stored under a key, then get and open return null', async () => {
      expect(await storage.get(key('nothing'))).toBeNull();
      expect(await storage.open(key('nothing'))).toBeNull();
    });

    it('when a key could escape its namespace (.., absolute, odd characters), then every operation refuses it', async () => {
      for (const bad of ['../etc/passwd', '/abs', `${prefix}/../x`, 'a//b', 'a/b c', '', 'a\\b']) {
        await expect(storage.put(bad, Buffer.from('x'), 'text/plain')).rejects.toThrow(/invalid storage key/);
        await expect(storage.get(bad)).rejects.toThrow(/invalid storage key/);
        await expect(storage.open(bad)).rejects.toThrow(/invalid storage key/);
        await expect(storage.delete([bad])).rejects.toThrow(/invalid storage key/);
      }
    });
  });
}
