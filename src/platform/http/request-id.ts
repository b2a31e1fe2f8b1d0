import { randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';

const SANE = /^[A-Za-z0-9._-]{1,128}$/;

// A random per-process prefix and a counter: unique across processes, and no CSPRNG call per
// request on the hot path. Request ids identify, they do not authorise.
const prefix = randomBytes(6).toString('base64url');
let counter = 0;
export const newRequestId = () => `req_${prefix}${(counter++).toString(36)}`;

/** Echoes a sane X-Request-Id, otherwise makes one; either way it is the Request-Id response header. */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.get('x-request-id');
  const id = given && SANE.test(given) ? given : newRequestId();
  res.locals.requestId = id;
  res.setHeader('Request-Id', id);
  next();
};
