import express from 'express';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaRouter, type ObjectStorage, type OpenedObject } from '../../src/platform/storage';

// The media route over a storage that says what it knows of an object's size: an S3-compatible
// service may answer a GET without Content-Length (chunked).

const bytes = Buffer.from('RIFF....WEBPVP8 not really an image, but bytes to serve');
let opened: () => OpenedObject;
let server: Server;
let base: string;

beforeAll(async () => {
  const storage = { open: async () => opened() } as unknown as ObjectStorage;
  const app = express();
  app.use(mediaRouter(storage, () => true));
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

describe('GET /media/{key}', () => {
  it('when the storage knows the size, then it is the Content-Length', async () => {
    opened = () => ({ stream: Readable.from([bytes]), contentType: 'image/webp', bytes: bytes.length });
    const res = await fetch(`${base}/media/products/p/i.webp`);
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('when the storage does not know the size, then the object is sent whole, chunked, with no made-up length', async () => {
    opened = () => ({ stream: Readable.from([bytes.subarray(0, 10), bytes.subarray(10)]), contentType: 'image/webp' });
    const res = await fetch(`${base}/media/products/p/i.webp`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBeNull();
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  });
});
