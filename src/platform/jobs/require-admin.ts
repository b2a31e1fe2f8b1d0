import type { RequestHandler } from 'express';
import type { RequestContext } from '../context';
import { AppError } from '../errors';
import { authenticate, requireActor, requireRole, type TokenConfig, type TokenGuard } from '../http/auth';
import { sendProblem } from '../http/problem';

export interface AdminGuardOptions {
  /** The role the token must carry: the cheap refusal, before `confirm`. Default admin. */
  role?: string;
  guard?: TokenGuard;
  /**
   * Checks the caller again on their account as it is now, throwing an AppError (403) when the
   * power is gone: a token's roles outlive a demotion by up to the access-token lifetime.
   */
  confirm?: (ctx: RequestContext) => Promise<unknown>;
}

/**
 * Lets a request through only with a valid bearer token carrying `role` (and passing `confirm`),
 * for routes outside the spec such as Bull Board. It answers 401/403 as problem+json itself,
 * since the routers it guards have no error middleware of ours behind them.
 *
 * Mount it after the platform's requestId and accessLog middleware (as app.ts does): it records
 * the actor on the request context like `authenticate` everywhere else.
 */
export function requireAdmin(tokens: TokenConfig, { role = 'admin', guard, confirm }: AdminGuardOptions = {}): RequestHandler {
  const readToken = authenticate(tokens, guard);
  return (req, res, next) => {
    // Fail closed, with a message that says why, rather than a TypeError inside authenticate.
    if (!res.locals.ctx) return next(new Error('requireAdmin needs the request context: mount it after accessLog'));
    void readToken(req, res, async () => {
      try {
        requireRole(requireActor(res.locals.actor, res.locals.authError === true), role);
        if (confirm) await confirm(res.locals.ctx as RequestContext);
      } catch (err) {
        if (err instanceof AppError) return sendProblem(req, res, err);
        return next(err);
      }
      next();
    });
  };
}
