import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenSimulator, readRequestBody } from '../simulator-server';
import type { Logger } from '../../platform/logger';

/** The app `make start` and the config defaults share with the simulator. Never real keys. */
export const KAKAO_SIMULATOR_DEFAULTS = {
  clientId: 'local-kakao-rest-api-key',
  clientSecret: 'local-kakao-client-secret',
  redirectUris: ['http://localhost:3000/v1/auth/social/kakao/callback'],
} as const;

/** The Kakao account the next login completes as. */
export interface SimulatedKakaoUser {
  /** The member number (회원번호). */
  id: number;
  email?: string;
  /** `is_email_valid`: false once the address has been taken over by someone else. */
  emailValid?: boolean;
  /** `is_email_verified`. */
  emailVerified?: boolean;
  nickname?: string;
}

export interface KakaoSimulatorOptions {
  /** 0 for an ephemeral port (tests). */
  port?: number;
  host?: string;
  clientId?: string;
  clientSecret?: string;
  redirectUris?: readonly string[];
  user?: SimulatedKakaoUser;
  log?: Logger;
}

export interface SimulatedRequest {
  method: string;
  path: string;
  status: number;
}

export type KakaoEndpoint = 'token' | 'user';

export interface KakaoSimulator {
  /** One server answers for both hosts: KAKAO_AUTH_URL and KAKAO_API_URL both point here. */
  url: string;
  clientId: string;
  clientSecret: string;
  redirectUris: readonly string[];
  setNextUser(user: SimulatedKakaoUser): void;
  /** The next authorization is declined, as when the person presses Cancel on the consent screen. */
  denyNext(): void;
  requests(): SimulatedRequest[];
  /**
   * The next `count` requests to `endpoint` fail with `status` (500 by default) in that host's
   * error shape; 401 on `user` is the -401 of a token Kakao no longer knows.
   */
  failNext(count: number, status?: number, endpoint?: KakaoEndpoint): void;
  stop(): Promise<void>;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  codeChallenge?: string;
  codeChallengeMethod?: string;
  user: SimulatedKakaoUser;
  expiresAt: number;
}

// Kakao's documented lifetimes: code 10 minutes, access token 6 hours (expires_in 21599), refresh token 2 months.
const CODE_TTL_MS = 10 * 60_000;
const ACCESS_TOKEN_TTL_S = 21_599;
const REFRESH_TOKEN_TTL_S = 5_183_999;
const MAX_BODY_BYTES = 100_000;

const DEFAULT_USER: SimulatedKakaoUser = { id: 4_000_000_001, email: 'dev@junggo.test', emailValid: true, emailVerified: true, nickname: '중고개발' };

type Reply = { status: number; body: object | string; headers?: Record<string, string> };

/**
 * A local stand-in for Kakao Login's REST API: the authorize redirect (which completes at once for
 * the "next user"), the token endpoint with its client, redirect URI, single-use code and PKCE
 * checks, and /v2/user/me behind the access token, with kauth's and kapi's error bodies.
 */
export async function startKakaoSimulator(options: KakaoSimulatorOptions = {}): Promise<KakaoSimulator> {
  const host = options.host ?? '127.0.0.1';
  const app = {
    clientId: options.clientId ?? KAKAO_SIMULATOR_DEFAULTS.clientId,
    clientSecret: options.clientSecret ?? KAKAO_SIMULATOR_DEFAULTS.clientSecret,
    redirectUris: [...(options.redirectUris ?? KAKAO_SIMULATOR_DEFAULTS.redirectUris)],
  };
  let nextUser = options.user ?? DEFAULT_USER;
  let denials = 0;
  const codes = new Map<string, IssuedCode>();
  const accessTokens = new Map<string, { user: SimulatedKakaoUser; expiresAt: number }>();
  const log: SimulatedRequest[] = [];
  const failures: Record<KakaoEndpoint, { remaining: number; status: number }> = { token: { remaining: 0, status: 500 }, user: { remaining: 0, status: 500 } };

  const authorize = (query: URLSearchParams): Reply => {
    const clientId = query.get('client_id');
    const redirectUri = query.get('redirect_uri');
    // Before the redirect URI is trusted, errors are a page on Kakao, not a redirect.
    if (clientId !== app.clientId) return errorPage('KOE101', 'Invalid app key (client_id).');
    if (!redirectUri || !app.redirectUris.includes(redirectUri)) return errorPage('KOE006', 'Redirect URI is not registered for this app.');
    if (query.get('response_type') !== 'code') return errorPage('KOE001', 'response_type must be code.');
    const challenge = query.get('code_challenge') ?? undefined;
    const method = query.get('code_challenge_method') ?? (challenge ? 'plain' : undefined);
    if (method && method !== 'S256' && method !== 'plain') return errorPage('KOE001', 'code_challenge_method must be S256 or plain.');

    const back = new URL(redirectUri);
    const state = query.get('state');
    if (denials > 0) {
      denials--;
      back.search = new URLSearchParams({ error: 'access_denied', error_description: 'User denied access', ...(state ? { state } : {}) }).toString();
      return redirect(back);
    }
    const code = randomBytes(36).toString('base64url');
    codes.set(code, { clientId, redirectUri, ...(challenge ? { codeChallenge: challenge, codeChallengeMethod: method } : {}), user: nextUser, expiresAt: Date.now() + CODE_TTL_MS });
    options.log?.info({ kakao_id: nextUser.id, email: nextUser.email }, 'kakao simulator: login completed');
    back.search = new URLSearchParams({ code, ...(state ? { state } : {}) }).toString();
    return redirect(back);
  };

  const token = (form: URLSearchParams): Reply => {
    if (form.get('grant_type') !== 'authorization_code') return authError(400, 'unsupported_grant_type', 'grant_type must be authorization_code', 'KOE001');
    if (form.get('client_id') !== app.clientId) return authError(401, 'invalid_client', `Not exist client_id [${form.get('client_id') ?? ''}]`, 'KOE101');
    if (!sameSecret(form.get('client_secret') ?? '', app.clientSecret)) return authError(401, 'invalid_client', 'Bad client credentials', 'KOE010');
    const code = form.get('code') ?? '';
    const issued = codes.get(code);
    // Single use: a code is spent by the first attempt to redeem it, whatever its outcome.
    codes.delete(code);
    if (!issued || issued.clientId !== app.clientId || issued.expiresAt < Date.now()) {
      return authError(400, 'invalid_grant', `authorization code not found for code=${code}`, 'KOE320');
    }
    if (form.get('redirect_uri') !== issued.redirectUri) return authError(400, 'invalid_grant', 'Redirect URI mismatch.', 'KOE303');
    if (issued.codeChallenge && !pkceHolds(form.get('code_verifier'), issued.codeChallenge, issued.codeChallengeMethod)) {
      return authError(400, 'invalid_grant', 'PKCE verification failed.', 'KOE320');
    }
    const accessToken = randomBytes(40).toString('base64url');
    accessTokens.set(accessToken, { user: issued.user, expiresAt: Date.now() + ACCESS_TOKEN_TTL_S * 1000 });
    return {
      status: 200,
      body: {
        token_type: 'bearer',
        access_token: accessToken,
        expires_in: ACCESS_TOKEN_TTL_S,
        refresh_token: randomBytes(40).toString('base64url'),
        refresh_token_expires_in: REFRESH_TOKEN_TTL_S,
        scope: issued.user.email === undefined ? 'profile_nickname' : 'account_email profile_nickname',
      },
    };
  };

  const me = (req: IncomingMessage): Reply => {
    const authorization = req.headers.authorization;
    if (!authorization) return apiError(401, -401, 'no authentication key!');
    const [scheme, given] = authorization.split(' ');
    const held = scheme?.toLowerCase() === 'bearer' && given ? accessTokens.get(given) : undefined;
    if (!held) return apiError(401, -401, 'this access token does not exist');
    if (held.expiresAt < Date.now()) return apiError(401, -401, 'this access token is already expired');
    const { user } = held;
    return {
      status: 200,
      body: {
        id: user.id,
        connected_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        properties: user.nickname === undefined ? {} : { nickname: user.nickname },
        kakao_account: {
          profile_nickname_needs_agreement: user.nickname === undefined,
          ...(user.nickname === undefined ? {} : { profile: { nickname: user.nickname, is_default_nickname: false } }),
          has_email: user.email !== undefined,
          email_needs_agreement: user.email === undefined,
          ...(user.email === undefined
            ? {}
            : { is_email_valid: user.emailValid ?? true, is_email_verified: user.emailVerified ?? true, email: user.email }),
        },
      },
    };
  };

  const handle = async (req: IncomingMessage): Promise<Reply> => {
    const url = new URL(req.url ?? '/', 'http://simulator');
    if (url.pathname === '/oauth/authorize' && req.method === 'GET') return authorize(url.searchParams);
    if (url.pathname === '/oauth/token' && req.method === 'POST') {
      const raw = await readRequestBody(req, MAX_BODY_BYTES);
      if (raw === undefined) return authError(413, 'invalid_request', 'Request body too large', 'KOE001');
      if (failures.token.remaining > 0) {
        failures.token.remaining--;
        return authError(failures.token.status, 'server_error', 'Simulated failure.', 'KOE003');
      }
      if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) return authError(400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded', 'KOE001');
      return token(new URLSearchParams(raw.toString('utf8')));
    }
    if (url.pathname === '/v2/user/me' && (req.method === 'GET' || req.method === 'POST')) {
      req.resume();
      if (failures.user.remaining > 0) {
        failures.user.remaining--;
        const status = failures.user.status;
        return status === 401 ? apiError(401, -401, 'this access token does not exist') : apiError(status, -1, 'Simulated failure.');
      }
      return me(req);
    }
    req.resume();
    return apiError(404, -2, 'not found');
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    handle(req)
      .catch((): Reply => apiError(500, -1, 'internal error'))
      .then(({ status, body, headers }) => {
        log.push({ method: req.method ?? '', path: (req.url ?? '/').split('?')[0]!, status });
        const text = typeof body === 'string' ? body : JSON.stringify(body);
        res.writeHead(status, { 'Content-Type': typeof body === 'string' ? 'text/html;charset=UTF-8' : 'application/json;charset=UTF-8', ...headers }).end(text);
      });
  });
  const { url, stop } = await listenSimulator(server, options.port, host);

  return {
    url,
    ...app,
    setNextUser(user) {
      nextUser = user;
    },
    denyNext() {
      denials++;
    },
    requests: () => [...log],
    failNext(count, status = 500, endpoint = 'token') {
      failures[endpoint] = { remaining: count, status };
    },
    stop,
  };
}

function pkceHolds(verifier: string | null, challenge: string, method: string | undefined): boolean {
  if (!verifier || !/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) return false;
  const derived = method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
  return sameSecret(derived, challenge);
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const redirect = (to: URL): Reply => ({ status: 302, body: '', headers: { Location: to.href } });

const authError = (status: number, error: string, description: string, koe: string): Reply => ({
  status,
  body: { error, error_description: description, error_code: koe },
});

const apiError = (status: number, code: number, msg: string): Reply => ({ status, body: { msg, code } });

const errorPage = (koe: string, message: string): Reply => ({
  status: 400,
  body: `<!doctype html><html><body><h1>${koe}</h1><p>${message}</p></body></html>`,
});

