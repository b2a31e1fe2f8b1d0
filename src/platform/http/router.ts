import { Router, type Request, type Response } from 'express';
import type { RequestContext } from '../context';
import { AppError, type FieldError } from '../errors';
import { requireActor } from './auth';
import {
  canonicalRequest,
  executeIdempotently,
  IDEMPOTENCY_KEY_HEADER,
  idempotencyKeyUse,
  principalOf,
  renderProblem,
  type IdempotencyStore,
  type StoredResponse,
} from './idempotency';
import { multipartBody } from './multipart';
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

type HandlerOutput = { status: number; headers?: Record<string, string>; body?: unknown };

/** What the router sends for a handler's result: Content-Type is set when there is a body. */
function toStored(result: HandlerOutput): StoredResponse {
  const headers = { ...result.headers };
  if (result.body === undefined) return { status: result.status, headers, body: Buffer.alloc(0) };
  const body = Buffer.isBuffer(result.body) ? result.body : Buffer.from(JSON.stringify(result.body));
  return { status: result.status, headers: { ...headers, 'Content-Type': 'application/json' }, body };
}

/**
 * Mounts one route per spec operation under the base path, each calling the handler the map
 * holds for its operationId. The handler map's type guarantees every operation has one.
 *
 * With `idempotency` (the database and its keys), a request carrying Idempotency-Key to an
 * operation that declares it runs through executeIdempotently: in one transaction with its stored
 * response, which `ctx.transaction` hands to the use cases. Without it, or on an operation that
 * does not declare the header, the key is ignored.
 */
export function operationsRouter(doc: OpenApiDocument, handlers: HandlerMap, opts: { validateResponses: boolean; idempotency?: IdempotencyStore }): Router {
  const router = Router();
  const ops = listOperations(doc).filter((op) => op.operationId in handlers);
  const keyUse = idempotencyKeyUse(doc);
  for (const op of ops) {
    const handler = handlers[op.operationId as keyof HandlerMap] as unknown as Handler<keyof HandlerMap>;
    const expressPath = op.path.replace(/\{([^}]+)\}/g, ':$1');
    const idempotency = keyUse.has(`${op.method} ${op.path}`) ? opts.idempotency : undefined;
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
      const body = op.multipart ? multipartBody(req) : req.body;
      const run = async () => (await handler({ ctx, path: req.params, query: req.query, headers, body } as never)) as HandlerOutput;
      const key = idempotency && req.get(IDEMPOTENCY_KEY_HEADER);
      if (key) {
        const { replayed, response } = await executeIdempotently(
          idempotency,
          ctx,
          { principal: principalOf(ctx), key, method: op.method.toUpperCase(), route: op.path, canonical: canonicalRequest(req.params as Record<string, string>, req.originalUrl, req.body) },
          async () => toStored(await run()),
          (e) => renderProblem(req, res, e),
        );
        if (replayed) res.setHeader('Idempotent-Replayed', 'true');
        // A replay or a stored problem goes out as the stored bytes; only a fresh success is validated.
        return sendStored(res, response, opts.validateResponses && !replayed && response.status < 400);
      }
      const result = await run();
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

function sendStored(res: Response, response: StoredResponse, validate: boolean): void {
  res.status(response.status);
  res.set(response.headers);
  if (response.body.length === 0) return void res.end();
  if (validate) return void res.json(JSON.parse(response.body.toString('utf8')));
  res.send(response.body);
}
