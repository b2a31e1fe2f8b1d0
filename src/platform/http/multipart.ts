import busboy from 'busboy';
import type { Request } from 'express';
import { PassThrough, type Readable } from 'node:stream';
import { AppError } from '../errors';

/** One file part, handed over while it is still arriving. */
export interface MultipartFile {
  /** 0-based, in the order the client sent the files. */
  index: number;
  /** As the client named it: never trusted, never used as a path. */
  filename: string;
  /** The part's Content-Type as the client declared it: never trusted either. */
  declaredType: string;
  /** The bytes; fails with `rules.tooLarge(index)` as soon as the file passes `maxFileBytes`. */
  stream: Readable;
}

export interface FileRules {
  /** The one form field that may carry files. */
  field: string;
  maxFiles: number;
  maxFileBytes: number;
  tooMany: () => AppError;
  tooLarge: (index: number) => AppError;
}

/**
 * A multipart/form-data request body, read only when the handler asks, so that it can be
 * checked against the caller's rights and limits first and then streamed straight to where it
 * goes (the validator, with `fileUploader: false`, leaves the stream untouched). The router
 * passes one as `body` to the handler of an operation whose request body is multipart.
 */
export interface MultipartBody {
  /**
   * Hands each file of `rules.field` to `each`, one at a time in the order sent, and resolves
   * with the results once the whole body is read (an empty list when it held no file). `each`
   * must consume the stream. Any other part, a text field included, is a `400 unexpected_field`:
   * only file bodies are accepted. After the first failure the rest of the body is read and
   * discarded (up to the size a valid body could have) and then the failure is thrown, so that
   * the client, still sending, receives the answer.
   */
  files<T>(rules: FileRules, each: (file: MultipartFile) => Promise<T>): Promise<T[]>;
  /**
   * For a handler that refuses the request before reading it (not the seller's listing, no room
   * left): the body is read and dropped as after a failure, up to the size a valid body under
   * `rules` could have. Left alone, Node would drain all of it, however long the client sends.
   * Nothing when the body was read already.
   */
  drop(rules: Pick<FileRules, 'maxFiles' | 'maxFileBytes'>): void;
}

/** Past this, even a valid body would have ended. */
const capOf = (rules: Pick<FileRules, 'maxFiles' | 'maxFileBytes'>) => rules.maxFiles * rules.maxFileBytes + 1024 * 1024;

const malformed = (detail: string) => new AppError(400, 'malformed_multipart', 'The multipart body could not be read', detail);
// busboy gives no name (undefined, whatever its types say) for a part whose Content-Disposition has none.
// The client's name goes into the problem: without control characters (the Problem schema
// allows none), and as one RFC 6901 pointer token (`~` and `/` escaped).
const unexpectedField = (name: string | undefined, file: boolean) => {
  const shown = [...(name ?? '').replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ')].slice(0, 100).join('');
  return new AppError(400, 'unexpected_field', 'Unexpected form field', `This operation accepts only file parts named as documented; '${shown}' is not one.`, [
    { pointer: `/${shown.replace(/~/g, '~0').replace(/\//g, '~1')}`, code: 'unknown_field', detail: file ? 'Files are accepted only under the documented field name.' : 'Only file parts are accepted (no text fields, no URLs).' },
  ]);
};

export function multipartBody(req: Request): MultipartBody {
  let read = false;
  return {
    files(rules, each) {
      if (read) throw new Error('a multipart body can be read only once');
      read = true;
      return readFiles(req, rules, each);
    },
    drop(rules) {
      if (read) return;
      read = true;
      discardRest(req, capOf(rules), 0);
    },
  };
}

const encodingUnsupported = () =>
  new AppError(415, 'unsupported_media_type', 'Unsupported media type', 'This Content-Encoding is not supported for file uploads; send the form unencoded (identity).');

/**
 * Reads and drops the rest of a refused body, so that the answer reaches a client still sending;
 * but only up to `cap` bytes in all (`received` of them already read): a client sending more is
 * sending no valid form, and reading it would have no end. Past that the request is destroyed.
 */
function discardRest(req: Request, cap: number, received: number): void {
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > cap) req.destroy();
  });
  req.resume();
}

function readFiles<T>(req: Request, rules: FileRules, each: (file: MultipartFile) => Promise<T>): Promise<T[]> {
  // Past this, even a valid body would have ended: stop reading and answer at once.
  const cap = capOf(rules);
  // The parser reads the bytes as they come: an encoded body would be stored as its encoding.
  const encoding = req.headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    discardRest(req, cap, 0);
    return Promise.reject(encodingUnsupported());
  }
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      limits: { files: rules.maxFiles, fileSize: rules.maxFileBytes, fields: 20, fieldSize: 1024, fieldNameSize: 100, headerPairs: 20 },
    });
  } catch {
    return Promise.reject(malformed('The Content-Type must be multipart/form-data with a boundary.'));
  }

  return new Promise<T[]>((resolve, reject) => {
    const results: T[] = [];
    let failure: unknown;
    let chain = Promise.resolve();
    let index = 0;
    let settled = false;
    let received = 0;
    /** The file streams handed out that have not ended: one may be in a consumer's hands. */
    const open = new Set<PassThrough>();

    const fail = (err: unknown) => {
      failure ??= err;
    };
    const settle = () => {
      if (settled) return;
      settled = true;
      req.off('data', count);
      chain.then(() => (failure === undefined ? resolve(results) : reject(failure)), reject);
    };
    const stopReading = () => {
      req.unpipe(parser);
      // The part being read will get no more bytes, so neither its end nor an error would come:
      // whatever consumes it (a storage write, with its temporary file) would wait for ever, and
      // the request with it. Ending it with the failure lets the consumer clean up and the read settle.
      for (const out of open) out.destroy(failure as Error);
      settle();
    };
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received > cap) {
        fail(new AppError(413, 'payload_too_large', 'Payload too large', 'The request body is too large.'));
        stopReading();
      }
    };

    parser.on('file', (name, stream, info) => {
      if (failure !== undefined || name !== rules.field) {
        if (name !== rules.field) fail(unexpectedField(name, true));
        stream.resume();
        return;
      }
      const fileIndex = index++;
      const out = new PassThrough();
      open.add(out);
      out.once('end', () => open.delete(out));
      out.once('close', () => open.delete(out));
      // busboy destroys the part with an error when the body ends inside it ("Unexpected end of
      // file"): without a listener that error would be thrown out of the request's 'end'.
      stream.on('error', (err) => {
        fail(malformed(`The multipart body ended inside a file: ${String(err.message).slice(0, 200)}`));
        out.destroy(failure as Error);
      });
      // The consumer may not have taken the stream yet (or may have finished with it) when it is
      // destroyed: the failure is reported through `fail`, so an unread error must not escape.
      out.on('error', () => undefined);
      stream.on('limit', () => {
        const err = rules.tooLarge(fileIndex);
        fail(err);
        stream.unpipe(out);
        out.destroy(err);
        stream.resume(); // busboy discards the rest of the file; it must still be read
      });
      stream.pipe(out);
      chain = chain
        .then(async () => {
          if (failure !== undefined) return void out.resume();
          results.push(await each({ index: fileIndex, filename: info.filename ?? '', declaredType: info.mimeType, stream: out }));
        })
        .catch((err: unknown) => {
          fail(err);
          out.resume();
          stream.resume();
        });
    });
    parser.on('field', (name) => fail(unexpectedField(name, false)));
    parser.on('filesLimit', () => fail(rules.tooMany()));
    parser.on('fieldsLimit', () => fail(malformed('The body has too many parts.')));
    parser.on('error', (err) => {
      fail(malformed(`The multipart body is malformed: ${String((err as Error).message ?? err).slice(0, 200)}`));
      stopReading();
      discardRest(req, cap, received);
    });
    parser.on('close', settle);
    req.on('data', count);
    // A client that goes away mid-body: busboy would wait for an end that never comes.
    req.once('close', () => {
      if (!req.complete) {
        fail(malformed('The request body ended before the multipart form did.'));
        stopReading();
      }
    });
    req.pipe(parser);
  });
}
