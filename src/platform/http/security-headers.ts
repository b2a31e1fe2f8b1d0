import type { Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';

/**
 * helmet's headers, computed once. helmet() rebuilds them on every request (its
 * Content-Security-Policy string among them), which cost ~12 % of a cached read in
 * `make bench-layers` (docs/performance.md). With a fixed configuration they never change, so
 * helmet runs once against a recording response and each request gets the recorded headers.
 * (`X-Powered-By`, which helmet removes, is switched off on the app instead.)
 */
export function securityHeaders(): RequestHandler {
  const headers: [string, string][] = [];
  const recorder = {
    setHeader: (name: string, value: unknown) => void headers.push([name, String(value)]),
    removeHeader: () => undefined,
    getHeader: () => undefined,
  };
  let failure: unknown;
  helmet()({ headers: {} } as Request, recorder as unknown as Response, (err?: unknown) => void (failure = err));
  if (failure || headers.length === 0) throw new Error(`could not record helmet's headers: ${String(failure)}`);
  return (_req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}
