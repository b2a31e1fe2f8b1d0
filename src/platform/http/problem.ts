import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { RequestContext } from '../context';
import { accountGone, AppError, type FieldError } from '../errors';
import type { Logger } from '../logger';

const PROBLEM_BASE = 'https://docs.junggo.example/problems/';

interface ValidatorError {
  status: number;
  message?: string;
  headers?: Record<string, string>;
  errors?: { path: string; message: string; errorCode?: string }[];
}

const isValidatorError = (e: unknown): e is ValidatorError =>
  typeof e === 'object' && e !== null && typeof (e as ValidatorError).status === 'number' && Array.isArray((e as ValidatorError).errors);

const LOCATIONS: Record<string, FieldError['in']> = { query: 'query', path: 'path', params: 'path', headers: 'header', header: 'header', cookies: 'cookie' };

// AJV keywords, renamed to the codes clients see.
const KEYWORD_CODES: Record<string, string> = {
  required: 'missing_field',
  type: 'invalid_type',
  enum: 'invalid_value',
  const: 'invalid_value',
  pattern: 'invalid_format',
  format: 'invalid_format',
  minLength: 'too_short',
  maxLength: 'too_long',
  minimum: 'out_of_range',
  maximum: 'out_of_range',
  exclusiveMinimum: 'out_of_range',
  exclusiveMaximum: 'out_of_range',
  minItems: 'too_few_items',
  maxItems: 'too_many_items',
  minProperties: 'too_few_fields',
  maxProperties: 'too_many_fields',
};

/** Validator paths look like `/body/a/b` or `/query/limit`; map them to pointer, or parameter + in. */
function fieldError(item: { path: string; message: string; errorCode?: string }): FieldError {
  const [where, ...rest] = item.path.replace(/^[./]/, '').split(/[./]/);
  const keyword = item.errorCode?.split('.')[0] ?? '';
  const unknownField = /must NOT have additional properties/.test(item.message);
  if (where === 'body') {
    const pointer = rest.length ? `/${rest.join('/')}` : '';
    if (unknownField) return { pointer, code: 'unknown_field', detail: `'${rest.at(-1) ?? ''}' is not a writable field of this request.` };
    return { pointer, code: KEYWORD_CODES[keyword] ?? 'invalid_value', detail: item.message };
  }
  const location = LOCATIONS[where ?? ''];
  if (location) {
    const code = /Unknown query parameter/i.test(item.message) ? 'unknown_parameter' : KEYWORD_CODES[keyword] ?? 'invalid_value';
    return { parameter: rest.join('.'), in: location, code, detail: item.message };
  }
  return { code: KEYWORD_CODES[keyword] ?? 'invalid_value', detail: item.message };
}

function fromValidator(err: ValidatorError): AppError {
  switch (err.status) {
    case 400:
      return new AppError(400, 'validation_failed', 'The request is not valid', 'One or more parameters or fields are not valid.', (err.errors ?? []).map(fieldError));
    case 404:
      return new AppError(404, 'not_found', 'Not found', 'No operation exists at this path.');
    case 405:
      return new AppError(405, 'method_not_allowed', 'Method not allowed', 'This path does not support this method.', [], err.headers ?? {});
    case 413:
      return new AppError(413, 'payload_too_large', 'Payload too large', 'The request body is too large.');
    case 415:
      return new AppError(415, 'unsupported_media_type', 'Unsupported media type', 'Send the body as the operation documents: application/json, or multipart/form-data for file uploads.');
    case 406:
      return new AppError(406, 'not_acceptable', 'Not acceptable', 'This operation cannot answer in a media type the Accept header allows.');
    default:
      return new AppError(500, 'internal_error', 'Internal server error', 'An unexpected error occurred. Quote the request id to support.');
  }
}

const MAX_FIELD_ERRORS = 100;

export function sendProblem(req: Request, res: Response, e: AppError): void {
  const body = {
    type: `${PROBLEM_BASE}${e.code.replace(/_/g, '-')}`,
    title: e.title,
    status: e.status,
    detail: e.message,
    instance: req.originalUrl.split('?')[0]!.slice(0, 2000),
    code: e.code,
    request_id: res.locals.requestId as string,
    // The Problem schema caps errors[] at 100: a body with thousands of bad array items would
    // otherwise answer with one entry each (a 400 kB problem, found by the fuzzer).
    ...(e.errors.length ? { errors: e.errors.slice(0, MAX_FIELD_ERRORS) } : {}),
  };
  for (const [name, value] of Object.entries(e.headers)) res.setHeader(name, value);
  res.status(e.status).type('application/problem+json').send(JSON.stringify(body));
}

/**
 * A write that names the caller's own account and meets a foreign key saying that account does
 * not exist: the token is validly signed but its account is gone. That is the caller's 401, found
 * by the database in the write itself rather than by a lookup on every request.
 */
function referencesMissingActor(err: unknown, ctx: RequestContext | undefined): boolean {
  const userId = ctx?.actor?.userId;
  if (!userId || typeof err !== 'object' || err === null) return false;
  const cause = ((err as { parent?: unknown }).parent ?? err) as { code?: unknown; detail?: unknown };
  return cause.code === '23503' && typeof cause.detail === 'string' && cause.detail.includes(`=(${userId}) is not present in table "users"`);
}

/** The one error path: application errors (body-parser failures arrive as such, see json-body.ts), validator errors, and the unexpected. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let problem: AppError | null = null;
    if (err instanceof AppError) problem = err;
    else if (isValidatorError(err)) problem = fromValidator(err);
    else if (referencesMissingActor(err, res.locals.ctx as RequestContext | undefined)) problem = accountGone();
    // An AppError of 502-504 is deliberate (an upstream provider is down): its code, detail and
    // Retry-After were written for the client. Every other 5xx is hidden behind a generic 500.
    const deliberate = err instanceof AppError && err.status > 500 && err.status < 505;
    if (!problem || (problem.status >= 500 && !deliberate)) {
      // Full detail goes to the log only; the client gets a generic problem and the request id.
      const responseMismatch = isValidatorError(err) && err.status === 500;
      const requestLog = (res.locals.ctx as RequestContext | undefined)?.log ?? log;
      requestLog.error({ err }, responseMismatch ? 'the response does not match the spec: update the spec or the code' : 'unhandled error');
      problem = new AppError(500, 'internal_error', 'Internal server error', 'An unexpected error occurred. Quote the request id to support.');
    }
    if (res.headersSent) return void res.end();
    sendProblem(req, res, problem);
  };
}

/** Paths outside /v1 and the ops routes. */
export const notFoundHandler: RequestHandler = (_req, _res, next) => next(new AppError(404, 'not_found', 'Not found', 'No operation exists at this path.'));
