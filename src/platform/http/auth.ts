import type { RequestHandler } from 'express';
import jwt from 'jsonwebtoken';
import type { Actor, RequestContext } from '../context';
import { AppError, unauthenticated } from '../errors';

export interface AccessTokenClaims {
  sub: string;
  sid: string;
  roles: string[];
}

export interface TokenConfig {
  secret: string;
  issuer: string;
}

/** Signs an access token (HS256, 1 h). Identity issues them on login; tests and `make dev-token` use it too. */
export function signAccessToken(claims: AccessTokenClaims, cfg: TokenConfig, expiresInSeconds = 3600): string {
  return jwt.sign({ roles: claims.roles, sid: claims.sid }, cfg.secret, {
    algorithm: 'HS256',
    subject: claims.sub,
    issuer: cfg.issuer,
    expiresIn: expiresInSeconds,
  });
}

/** Decides whether a well-signed, unexpired token still stands (its session not ended, its user not blocked). */
export interface TokenGuard {
  isValid(userId: string, sessionId: string, issuedAt: number): Promise<boolean>;
}

function verify(token: string, cfg: TokenConfig): { actor: Actor; issuedAt: number } | null {
  try {
    // Only HS256 with our key: `alg: none` and other algorithms are refused by the allow-list.
    const claims = jwt.verify(token, cfg.secret, { algorithms: ['HS256'], issuer: cfg.issuer });
    if (typeof claims !== 'object' || typeof claims.sub !== 'string' || typeof claims.sid !== 'string') return null;
    const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
    return { actor: { userId: claims.sub, sessionId: claims.sid, roles }, issuedAt: typeof claims.iat === 'number' ? claims.iat : 0 };
  } catch {
    return null;
  }
}

/**
 * Reads the bearer token when one is sent, before rate limiting so that limits are per user.
 * A bad token is remembered, not rejected here: the operation router refuses it with a 401
 * (after validation), and routes outside the spec decide for themselves.
 */
export function authenticate(cfg: TokenConfig, guard?: TokenGuard): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization');
    if (header) {
      const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header);
      const verified = match ? verify(match[1]!, cfg) : null;
      const stands = verified && (!guard || (await guard.isValid(verified.actor.userId, verified.actor.sessionId, verified.issuedAt)));
      if (verified && stands) {
        res.locals.actor = verified.actor;
        (res.locals.ctx as RequestContext).actor = verified.actor;
      } else {
        res.locals.authError = true;
      }
    }
    next();
  };
}

/** Throws 401 unless the request carries a valid token (for operations whose spec requires bearerAuth). */
export function requireActor(actor: Actor | undefined, authError: boolean): Actor {
  if (!actor) throw unauthenticated(authError ? 'The access token is invalid or expired.' : 'A valid access token is required.');
  return actor;
}

/** Throws 403 unless the actor has the role. */
export function requireRole(actor: Actor, role: string): void {
  if (!actor.roles.includes(role)) throw new AppError(403, 'forbidden', 'Not allowed', `This operation needs the ${role} role.`);
}
