import express from 'express';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/platform/errors';
import { multipartBody } from '../../src/platform/http/multipart';
import { waitFor } from '../support/wait';

// The multipart reader on a real socket: forms cut short, forms with the wrong parts, and the
// outcome the handler sees. A truncated body used to throw busboy's "Unexpected end of file"
// out of the request's 'end' event (an uncaught error, found by the fuzzer in CI).

const BOUNDARY = 'junggo-test-boundary';
const rules = {
  field: 'images',
  maxFiles: 2,
  maxFileBytes: 64,
  tooMany: () => new AppError(422, 'too_many_files', 'Too many files'),
  tooLarge: (i: number) => new AppError(413, 'file_too_large', 'File too large', `file ${i}`),
};

let server: Server;
let port: number;
/** How each request's read of the form ended, in order: the handler must always get an answer. */
const outcomes: string[] = [];
/** The problems the handler answered with, in order. */
const problems: AppError[] = [];
/** How many bytes the server read from each closed connection, by the client's port. */
const readByClientPort = new Map<number, number>();

beforeAll(async () => {
  const app = express();
  app.post('/upload', async (req, res) => {
    try {
      const files = await multipartBody(req).files(rules, async (file) => {
        const chunks: Buffer[] = [];
        for await (const chunk of file.stream) chunks.push(chunk as Buffer);
        return { index: file.index, filename: file.filename, text: Buffer.concat(chunks).toString() };
      });
      outcomes.push('ok');
      res.status(200).json({ files });
    } catch (err) {
      const e = err instanceof AppError ? err : new AppError(500, 'internal', String(err));
      outcomes.push(e.code);
      problems.push(e);
      res.status(e.status).json({ code: e.code });
    }
  });
  // A handler that refuses before reading (someone else's listing), dropping the body.
  app.post('/refuse', (req, res) => {
    multipartBody(req).drop(rules);
    res.status(404).json({ code: 'not_found' });
  });
  server = app.listen(0, '127.0.0.1');
  server.on('connection', (socket) => {
    const clientPort = socket.remotePort!;
    socket.once('close', () => readByClientPort.set(clientPort, socket.bytesRead));
  });
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

const part = (name: string, filename: string | null, content: string) =>
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"${filename === null ? '' : `; filename="${filename}"`}\r\n` +
  `${filename === null ? '' : 'Content-Type: image/jpeg\r\n'}\r\n${content}\r\n`;
const end = `--${BOUNDARY}--\r\n`;

/** Sends the body with the given Content-Length over a raw socket; resolves with status and JSON. */
function send(body: string, opts: { contentLength?: number; closeEarly?: boolean; headers?: string; later?: string } = {}): Promise<{ status: number; body: unknown } | 'closed'> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let raw = '';
    socket.on('data', (d) => (raw += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(raw);
      if (!m) return resolve('closed');
      resolve({ status: Number(m[1]), body: JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as unknown });
    });
    const length = opts.contentLength ?? Buffer.byteLength(body);
    socket.write(
      `POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\n${opts.headers ?? ''}Content-Length: ${length}\r\n\r\n${body}`,
    );
    if (opts.later !== undefined) setTimeout(() => socket.write(opts.later!), 100);
    if (opts.closeEarly) setTimeout(() => socket.destroy(), 100);
  });
}

const cap = rules.maxFiles * rules.maxFileBytes + 1024 * 1024;

/**
 * Sends a request that announces a body far larger than the most a valid form could be (keeping
 * the connection alive), `first` and then filler, as fast as the server reads it, until either
 * side closes. Resolves with what came back and how many bytes the server read from the connection.
 */
function sendFarPastTheCap(first: string, headers = '', path = '/upload'): Promise<{ raw: string; serverRead: number }> {
  const total = cap * 32;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let raw = '';
    socket.on('data', (d) => (raw += d.toString()));
    // Writing to a connection the server has dropped fails: that is what is expected here.
    socket.on('error', () => undefined);
    let localPort = 0;
    socket.once('connect', () => (localPort = socket.localPort!));
    socket.on('close', async () => {
      const serverRead = await waitFor('the server side closed', async () => readByClientPort.get(localPort));
      resolve({ raw, serverRead });
    });
    socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\n${headers}Content-Length: ${total}\r\n\r\n${first}`);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = Buffer.byteLength(first);
    const more = () => {
      while (sent + chunk.length <= total && !socket.destroyed) {
        sent += chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', more);
      }
    };
    more();
  });
}

describe('multipart bodies', () => {
  it('when a form holds two files, then the handler gets both in order', async () => {
    const res = await send(part('images', 'a.jpg', 'first') + part('images', 'b.jpg', 'second') + end);
    expect(res).toEqual({ status: 200, body: { files: [{ index: 0, filename: 'a.jpg', text: 'first' }, { index: 1, filename: 'b.jpg', text: 'second' }] } });
  });

  it('when the body ends inside a file, then the answer is 400 malformed_multipart and nothing is thrown', async () => {
    const full = part('images', 'a.jpg', 'first file bytes') + end;
    const cut = full.slice(0, full.indexOf('first file') + 5);
    const res = await send(cut);
    expect(res).toEqual({ status: 400, body: { code: 'malformed_multipart' } });
  });

  it('when the body ends inside the part headers, then the answer is 400 malformed_multipart', async () => {
    const res = await send(`--${BOUNDARY}\r\nContent-Disposition: form-da`);
    expect(res).toEqual({ status: 400, body: { code: 'malformed_multipart' } });
  });

  it('when the body passes the most a valid form could hold in the middle of a file, then the answer is 413 and the handler is not left waiting', async () => {
    // Junk before the first boundary (which the parser skips) counts towards the cap too, so a file
    // within its own limit can be the part during which the body passes it.
    const head = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="images"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
    const preamble = 'p'.repeat(cap - head.length - 20);
    // The file's first bytes, then (once the parser has begun the file) the bytes past the cap.
    const res = await send(`${preamble}\r\n${head}${'x'.repeat(10)}`, { contentLength: cap * 2, later: 'x'.repeat(50) });
    expect(res).toEqual({ status: 413, body: { code: 'payload_too_large' } });
  });

  it('when a file passes the size limit, then the answer is its own problem', async () => {
    const res = await send(part('images', 'a.jpg', 'x'.repeat(200)) + end);
    expect(res).toEqual({ status: 413, body: { code: 'file_too_large' } });
  });

  it('when the form has more files than allowed, then the answer is the limit problem', async () => {
    const res = await send(part('images', 'a', '1') + part('images', 'b', '2') + part('images', 'c', '3') + end);
    expect(res).toEqual({ status: 422, body: { code: 'too_many_files' } });
  });

  it('when a text field or another file field is sent, then the answer is 400 unexpected_field', async () => {
    expect(await send(part('images', 'a', '1') + part('note', null, 'hello') + end)).toEqual({ status: 400, body: { code: 'unexpected_field' } });
    expect(await send(part('avatar', 'a', '1') + end)).toEqual({ status: 400, body: { code: 'unexpected_field' } });
    // Found by the fuzzer: a part without a name threw out of the parser, and the request hung.
    const nameless = `--${BOUNDARY}\r\nContent-Disposition: form-data; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\nbytes\r\n`;
    expect(await send(nameless + end)).toEqual({ status: 400, body: { code: 'unexpected_field' } });
    expect(await send(`--${BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\ntext\r\n` + end)).toEqual({ status: 400, body: { code: 'unexpected_field' } });
    // The client's name, shown back: no control characters (the Problem schema allows none), and one pointer token.
    expect(await send(part('a\tb/c~d', 'a.jpg', '1') + end)).toEqual({ status: 400, body: { code: 'unexpected_field' } });
    const shown = problems.at(-1)!;
    expect(shown.message).toContain("'a b/c~d'");
    expect(shown.errors).toEqual([expect.objectContaining({ pointer: '/a b~1c~0d', code: 'unknown_field' })]);
  });

  it('when the form says it is encoded (gzip or anything but identity), then the answer is 415 and no file reaches the handler', async () => {
    // Found by the fuzzer: the parser read the bytes as they came, so an encoded form was stored as its encoding.
    const form = part('images', 'a.jpg', 'first') + end;
    expect(await send(form, { headers: 'Content-Encoding: bogus\r\n' })).toEqual({ status: 415, body: { code: 'unsupported_media_type' } });
    expect(await send(form, { headers: 'Content-Encoding: gzip\r\n' })).toEqual({ status: 415, body: { code: 'unsupported_media_type' } });
    expect(await send(form, { headers: 'Content-Encoding: Identity\r\n' })).toEqual({ status: 200, body: { files: [{ index: 0, filename: 'a.jpg', text: 'first' }] } });
  });

  // Past the cap the server stops reading: the client's bytes beyond it are never read (some may
  // already be in flight, hence the margin).
  it('when a form is refused for its encoding and the client keeps sending past the most a valid form could hold, then it gets the 415 and the server closes the connection instead of reading on', async () => {
    const { raw, serverRead } = await sendFarPastTheCap('', 'Content-Encoding: gzip\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 415 /);
    expect(serverRead).toBeLessThan(cap * 4);
  });

  it('when the parser fails (a malformed part header) and the client keeps sending past the most a valid form could hold, then it gets the 400 and the server closes the connection instead of reading on', async () => {
    const { raw, serverRead } = await sendFarPastTheCap(`--${BOUNDARY}\r\nContent-Disposition form-data no colon\r\n\r\n`);
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(serverRead).toBeLessThan(cap * 4);
    expect(problems.at(-1)!.message).toContain('The multipart body is malformed');
  });

  it('when a handler refuses the request before reading it and the client keeps sending past the most a valid form could hold, then it gets the refusal and the server closes the connection instead of draining it all', async () => {
    const { raw, serverRead } = await sendFarPastTheCap(part('images', 'a.jpg', 'first'), '', '/refuse');
    expect(raw).toMatch(/^HTTP\/1\.1 404 /);
    expect(serverRead).toBeLessThan(cap * 4);
  });

  it('when the client goes away in the middle of a file, then the handler gets malformed_multipart (its consumer is not left waiting) and the server serves the next form', async () => {
    const full = part('images', 'a.jpg', 'first file bytes') + end;
    const before = outcomes.length;
    const res = await send(full.slice(0, full.indexOf('first file') + 5), { contentLength: Buffer.byteLength(full) + 1000, closeEarly: true });
    expect(res).toBe('closed');
    // The file's stream used to get neither its end nor an error: whatever consumed it (storage)
    // waited for ever, and so did the request, with its temporary file.
    await waitFor('the read settled', async () => outcomes.length > before);
    expect(outcomes.slice(before)).toEqual(['malformed_multipart']);
    const next = await send(part('images', 'a.jpg', 'ok') + end);
    expect(next).toEqual({ status: 200, body: { files: [{ index: 0, filename: 'a.jpg', text: 'ok' }] } });
  });
});
