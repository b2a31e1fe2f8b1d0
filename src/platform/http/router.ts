import { Router, type Request, type Response } from 'express';
import type { RequestContext } from '../context';
import { AppError, type FieldError } from '../errors';
import { requireActor } from './auth';
import type { Handler, HandlerMap } from './operations';
import { listOperations, type OpenApiDocument } from './spec';

/**
 * The validator drops some undeclared names before it checks (bracketed ones such as `[a`, which
 * it takes for deepObject syntax) and coerces loosely, so the closed-query rule and strict integer
 * syntax are enforced again on the raw query string.
 */
function rejectUndeclaredQuery(originalUrl: string, declared: string[], integers: string[]): void {
  const search = originalUrl.includes('?') ? originalUrl.slice(originalUrl.indexOf('?') + 1) : '';
  if (!search) return;
  const params = new URLSearchParams(search);
  const errors: FieldError[] = [];
  for (const name of new Set(params.keys())) {
    const shown = name.slice(0, 200);
    if (!declared.includes(name)) errors.push({ parameter: shown, in: 'query', code: 'unknown_parameter', detail: `Unknown query parameter '${shown}'` });
    // The validator's number coercion takes `Infinity`, `1e999`, `0x5` or ` 1` for integers.
    else if (integers.includes(name) && params.getAll(name).some((v) => !/^-?(0|[1-9][0-9]{0,14})$/.test(v))) {
      errors.push({ parameter: shown, in: 'query', code: 'invalid_type', detail: 'must be a decimal integer' });
    }
  }
  if (errors.length) throw new AppError(400, 'validation_failed', 'The request is not valid', 'One or more parameters or fields are not valid.', errors);
}

/**
 * Mounts one route per spec operation under the base path, each calling the handler the map
 * holds for its operationId. The handler map's type guarantees every operation has one.
 */
export function operationsRouter(doc: OpenApiDocument, handlers: HandlerMap, opts: { validateResponses: boolean }): Router {
  const router = Router();
  const ops = listOperations(doc).filter((op) => op.operationId in handlers);
  for (const op of ops) {
    const handler = handlers[op.operationId as keyof HandlerMap] as unknown as Handler<keyof HandlerMap>;
    const expressPath = op.path.replace(/\{([^}]+)\}/g, ':$1');
    router[op.method](expressPath, async (req: Request, res: Response) => {
      res.locals.operationId = op.operationId;
      rejectUndeclaredQuery(req.originalUrl, op.queryParams, op.integerQueryParams);
      const ctx = res.locals.ctx as RequestContext;
      // A token that was sent but is invalid is refused on every operation, public ones too, so a
      // client learns at once that its session is gone instead of silently browsing anonymously.
      if (op.secured || res.locals.authError === true) ctx.actor = requireActor(res.locals.actor, res.locals.authError === true);
      const headers: Record<string, string> = {};
      for (const name of op.headerParams) {
        const value = req.get(name);
        if (value !== undefined) headers[name] = value;
      }
      const result = (await handler({ ctx, path: req.params, query: req.query, headers, body: req.body } as never)) as {
        status: number;
        headers?: Record<string, string>;
        body?: unknown;
      };
      res.status(result.status);
      for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
      if (result.body === undefined) return void res.end();
      if (Buffer.isBuffer(result.body)) {
        // Pre-serialised bytes: sent as they are, except when responses are validated, which
        // needs the object (the validator checks what goes through res.json).
        if (opts.validateResponses) return void res.json(JSON.parse(result.body.toString('utf8')));
        return void res.type('application/json').send(result.body);
      }
      res.json(result.body);
    });
  }
  return router;
}
