import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type Redis from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { AppError } from '../errors';

export interface RateLimitOptions {
  name: string;
  windowSeconds: number;
  limit: number;
}

/**
 * Fixed-window limit in Redis, shared by every API process. Per user when authenticated, per IP
 * otherwise (the IP as Express derives it from TRUST_PROXY). Headers follow the IETF draft
 * (RateLimit-Policy / RateLimit); a 429 carries Retry-After. If Redis fails the request passes:
 * losing the limiter must not take the API down.
 */
export function rateLimiter(redis: Redis, opts: RateLimitOptions): RequestHandler {
  return rateLimit({
    windowMs: opts.windowSeconds * 1000,
    limit: opts.limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: `${opts.limit}-in-${opts.windowSeconds}s`,
    keyGenerator: (req: Request) => {
      const actor = req.res?.locals.actor as { userId: string } | undefined;
      return actor ? `user:${actor.userId}` : `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;
    },
    store: new RedisStore({
      prefix: `rl:${opts.name}:`,
      sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply>,
    }),
    passOnStoreError: true,
    handler: (_req, _res, next) => {
      next(new AppError(429, 'rate_limited', 'Too many requests', `The rate limit of ${opts.limit} requests per ${opts.windowSeconds} seconds was exceeded.`));
    },
    validate: { singleCount: false },
    requestPropertyName: 'rateLimit',
  }) as RequestHandler;
}
