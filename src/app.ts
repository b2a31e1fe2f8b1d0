import cors from 'cors';
import express, { type Express, type RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { Queue } from 'bull';
import type Redis from 'ioredis';
import type { Sequelize } from 'sequelize';
import type { Config } from './config';
import { personalDataKeys } from './platform/crypto/field-cipher';
import type { RequestContext } from './platform/context';
import type { HealthCheck } from './platform/health';
import { queueBoardRouter } from './platform/jobs/board';
import { requireAdmin } from './platform/jobs/require-admin';
import { accessLog } from './platform/http/access-log';
import { jsonBody } from './platform/http/json-body';
import { securityHeaders } from './platform/http/security-headers';
import { authenticate, type TokenGuard } from './platform/http/auth';
import type { Metrics } from './platform/http/metrics';
import type { HandlerMap } from './platform/http/operations';
import { opsRouter } from './platform/http/ops';
import { idempotencyKeyUse, requireIdempotencyKeys } from './platform/http/idempotency';
import { errorHandler, notFoundHandler } from './platform/http/problem';
import { rateLimiter } from './platform/http/rate-limit';
import { requestId } from './platform/http/request-id';
import { operationsRouter } from './platform/http/router';
import { installValidatorRouteLookup } from './platform/http/validator-route-lookup';
import type { SpecArtefacts } from './platform/http/spec';
import type { Logger } from './platform/logger';

export interface AppDeps {
  config: Config;
  log: Logger;
  spec: SpecArtefacts;
  redis: Redis;
  metrics: Metrics;
  checks: HealthCheck[];
  handlers: HandlerMap;
  /** The Bull queues the job board shows. */
  queues: Queue[];
  /** Where Idempotency-Key responses are stored, in the request's transaction. Without it keys are ignored. */
  idempotency?: Sequelize;
  /** Refuses well-signed tokens whose session has ended or whose user is blocked. */
  tokenGuard?: TokenGuard;
  /** Confirms on the caller's account as it is now that they may use the job board (throws 403); without it the token's role decides. */
  queueBoardAccess?: (ctx: RequestContext) => Promise<unknown>;
  /** Serves stored listing photos at /media (platform/storage/media-route.ts), like the ops routes outside /v1 and the rate limiter. */
  media?: RequestHandler;
}

export const EXPOSED_HEADERS = ['Request-Id', 'RateLimit', 'RateLimit-Policy', 'Retry-After', 'ETag', 'Idempotent-Replayed'];

/** Builds the HTTP app from the bundled spec and the handler map; the middleware order is deliberate. */
export function buildApp({ config, log, spec, redis, metrics, checks, handlers, queues, idempotency, tokenGuard, queueBoardAccess, media }: AppDeps): Express {
  const app = express();
  app.set('trust proxy', config.TRUST_PROXY);
  app.set('etag', false); // handlers set their own strong ETags
  app.disable('x-powered-by');

  app.use(requestId);
  app.use(accessLog(log, metrics));
  app.use(securityHeaders());
  app.use(cors({ origin: config.CORS_ORIGINS, exposedHeaders: EXPOSED_HEADERS, maxAge: 600 }));
  const tokens = { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER };
  const boardAccess = requireAdmin(tokens, { guard: tokenGuard, confirm: queueBoardAccess });
  app.use(opsRouter(spec, metrics, checks, queueBoardRouter(queues, { basePath: '/admin/queues', authorize: boardAccess })));
  if (media) app.use(media);
  app.use(authenticate(tokens, tokenGuard));
  app.use(rateLimiter(redis, { name: 'default', windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS, limit: config.RATE_LIMIT_MAX }));
  // After the limiter: a body that fails to parse is a request like any other, counted and
  // answered with the RateLimit headers (the ops routes above read no body).
  app.use(jsonBody(config.BODY_LIMIT));
  const basePath = spec.document.servers?.[0]?.url ?? '/v1';
  if (!idempotency && idempotencyKeyUse(spec.document).size > 0) log.warn('no idempotency store: Idempotency-Key headers are ignored');
  app.use(basePath, requireIdempotencyKeys(spec.document));
  const unverified = installValidatorRouteLookup();
  if (unverified) log.warn({ version: unverified }, 'express-openapi-validator is not the version its prepared route lookup was verified against: its own lookup runs');
  app.use(
    OpenApiValidator.middleware({
      apiSpec: structuredClone(spec.document) as never,
      // Parameters are always coerced from strings by the validator; bodies are not: `"name": 5` stays a 400.
      validateRequests: { allowUnknownQueryParameters: false, coerceTypes: false, allErrors: true },
      validateResponses: config.validateResponses ? { allErrors: true } : false,
      validateSecurity: false, // bearer tokens are checked by `authenticate` and the router
      validateFormats: true,
      fileUploader: false,
    }),
  );
  // The personal-data keys, not keys of its own: stored answers hold the same data (e-mails in
  // answers, passwords and positions in the fingerprinted requests), production already refuses
  // their development defaults, and rotation works the same way.
  const idempotencyStore = idempotency && { sequelize: idempotency, ...personalDataKeys(config) };
  app.use(basePath, operationsRouter(spec.document, handlers, { validateResponses: config.validateResponses, idempotency: idempotencyStore }));
  app.use(notFoundHandler);
  app.use(errorHandler(log));
  return app;
}
