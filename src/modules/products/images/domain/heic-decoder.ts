import { Worker } from 'node:worker_threads';

/** Decoded pixels: 8-bit RGBA, rows top to bottom, already turned upright. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Buffer;
}

/** The HEVC decoder cannot be loaded in this process: no HEVC-coded file can be decoded here. */
export class HeicDecoderUnavailable extends Error {
  constructor(cause: unknown) {
    super('the HEIC (HEVC) decoder cannot be loaded', { cause });
    this.name = 'HeicDecoderUnavailable';
  }
}

type Outcome = { width: number; height: number; data: Uint8ClampedArray } | { failure: 'unavailable' | 'undecodable'; message: string };

// Runs in a worker thread (plain JS: the same source under tsx, vitest and the compiled build).
// heic-decode (libheif and libde265 compiled to WebAssembly) decodes synchronously: on the main
// thread a 12 MP photo would stall the worker's event loop, and with it the outbox relay and the
// other queues, for most of a second; and WebAssembly memory never shrinks, so one 48 MP photo
// would keep some 300 MB for the life of the process. A thread per photo gives all of it back.
// The library reports its errors with console.log; they are kept for the error message instead.
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { format } = require('node:util');
const said = [];
console.log = console.warn = console.error = (...args) => said.push(format(...args).replace(/\\s+/g, ' '));
const fail = (failure, err) => parentPort.postMessage({ failure, message: [err instanceof Error ? err.message : String(err), ...said].join('; ') });
(async () => {
  let decode;
  try {
    decode = require(workerData.decoder);
  } catch (err) {
    return fail('unavailable', err);
  }
  try {
    const images = await decode.all({ buffer: workerData.bytes });
    try {
      const { width, height } = images[0];
      if (width * height > workerData.maxPixels) return fail('undecodable', 'it declares ' + width + ' x ' + height + ' pixels, more than ' + workerData.maxPixels);
      const image = await images[0].decode();
      parentPort.postMessage({ width: image.width, height: image.height, data: image.data }, [image.data.buffer]);
    } finally {
      images.dispose();
    }
  } catch (err) {
    fail('undecodable', err);
  }
})();
`;

/**
 * Longest a decode may take. A 48 MP photo decodes in a few seconds; a file crafted to keep the
 * decoder busy would otherwise hold a core past the job's own timeout (which does not stop the
 * thread) and past its retries. Under the job's 120 s timeout, so the job sees why.
 */
const DECODE_DEADLINE_MS = 60_000;

function resolveDecoder(): string | null {
  try {
    return require.resolve('heic-decode');
  } catch {
    return null;
  }
}

/**
 * Decodes an HEVC-coded HEIC's first image (libheif applies its `irot`/`imir`/`clap`, so the
 * pixels are upright) to RGBA, refusing before decoding when libheif's own reading of the header
 * gives more than `maxPixels`. Rejects with HeicDecoderUnavailable when the decoder cannot be
 * loaded, with an Error saying why otherwise.
 */
export function decodeHeic(bytes: Buffer, maxPixels: number, deadlineMs = DECODE_DEADLINE_MS): Promise<RgbaImage> {
  const decoder = resolveDecoder();
  if (!decoder) return Promise.reject(new HeicDecoderUnavailable(new Error('the heic-decode package is not installed')));
  return new Promise((resolve, reject) => {
    const worker = new Worker(THREAD, { eval: true, workerData: { decoder, bytes, maxPixels } });
    let settled = false;
    const settle = (done: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      done();
      void worker.terminate();
    };
    const deadline = setTimeout(() => settle(() => reject(new Error(`HEIC decoding took longer than ${deadlineMs} ms; the thread was stopped`))), deadlineMs);
    worker.once('message', (outcome: Outcome) =>
      settle(() => {
        if ('failure' in outcome) reject(outcome.failure === 'unavailable' ? new HeicDecoderUnavailable(new Error(outcome.message)) : new Error(`HEIC decoding failed: ${outcome.message}`));
        else resolve({ width: outcome.width, height: outcome.height, data: Buffer.from(outcome.data.buffer, outcome.data.byteOffset, outcome.data.byteLength) });
      }),
    );
    worker.once('error', (err) => settle(() => reject(err)));
    worker.once('exit', (code) => settle(() => reject(new Error(`the HEIC decoding thread exited (code ${code}) without an answer`))));
  });
}
