import express, { type RequestHandler } from 'express';
import { AppError } from '../errors';

const BY_TYPE: Record<string, () => AppError> = {
  'entity.parse.failed': () => new AppError(400, 'malformed_json', 'The request body is not valid JSON', 'The request body could not be parsed as JSON.'),
  'entity.too.large': () => new AppError(413, 'payload_too_large', 'Payload too large', 'The request body is too large.'),
  'encoding.unsupported': () => new AppError(415, 'unsupported_media_type', 'Unsupported media type', 'This Content-Encoding is not supported; send identity, gzip, deflate or br.'),
  'charset.unsupported': () => new AppError(415, 'unsupported_media_type', 'Unsupported media type', 'Send the body as UTF-8 JSON.'),
};

/**
 * express.json with a size limit, its failures turned into our problems here, where they are
 * known to be about the body: a body that cannot even be decoded (a Content-Encoding that does
 * not match the bytes) comes out of the parser as a bare zlib error with status 400 and no
 * type, and is the client's 400, not an unexpected 500.
 */
export function jsonBody(limit: string): RequestHandler {
  const parse = express.json({ limit });
  return (req, res, next) =>
    parse(req, res, (err?: unknown) => {
      if (!err) return next();
      const type = (err as { type?: unknown }).type;
      const known = typeof type === 'string' ? BY_TYPE[type] : undefined;
      next(known ? known() : new AppError(400, 'invalid_request_body', 'The request body could not be read', 'The body could not be decoded; check its Content-Encoding.'));
    });
}
