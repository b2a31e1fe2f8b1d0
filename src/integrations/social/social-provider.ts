import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type SocialProviderName = 'google' | 'kakao';

/** Who the provider says signed in. */
export interface SocialIdentity {
  provider: SocialProviderName;
  /**
   * The provider's stable id for the person (Google `sub`, Kakao member number as a string).
   * Link accounts by (provider, subject), never by email: emails change hands.
   */
  subject: string;
  email?: string;
  /** True only when the provider vouches that the person controls `email`. */
  emailVerified: boolean;
  name?: string;
}

/** What the login start stores (in a short-lived, signed cookie or the session) and sends. */
export interface AuthorizationRequest {
  state: string;
  nonce: string;
  /** S256 challenge of the stored verifier (see createLoginAttempt). */
  codeChallenge: string;
  /** Absolute, registered with the provider, without a query string. */
  redirectUri: string;
}

/** The browser came back to redirectUri: its query plus what was stored at the start. */
export interface CodeExchange {
  /** The callback's query as received: `code` and `state` (and `iss`), or `error`. */
  callback: URLSearchParams | Record<string, string | undefined>;
  expectedState: string;
  /** Checked against the ID token; providers without one (Kakao's plain OAuth) ignore it. */
  nonce: string;
  codeVerifier: string;
  redirectUri: string;
}

/** The port the identity module signs people in through, one implementation per provider. */
export interface SocialProvider {
  readonly name: SocialProviderName;
  /** Where to send the browser. Async because the URL may need the provider's discovery document. */
  authorizationUrl(request: AuthorizationRequest): Promise<string>;
  /** Checks the callback, redeems the code and returns the verified identity; throws SocialLoginError. */
  exchangeCode(exchange: CodeExchange): Promise<SocialIdentity>;
}

export type SocialLoginErrorCode =
  /** The person declined at the provider (or the provider refused them). */
  | 'access_denied'
  /** The callback's state is not the one this login started with: CSRF or a mixed-up tab. */
  | 'state_mismatch'
  /** Code unknown, used, expired, or PKCE verifier/redirect URI not the ones it was issued for. */
  | 'invalid_grant'
  /** Our client id or secret is wrong: configuration, not the user. */
  | 'invalid_client'
  /** The provider refused the request as malformed (e.g. unregistered redirect URI). */
  | 'invalid_request'
  /** The ID token was not issued for this login attempt (replay or swapped token). */
  | 'nonce_mismatch'
  /** The provider refused the access token we presented. */
  | 'invalid_token'
  /** Unreachable, timed out, 5xx or "temporarily unavailable": the same login may work later. */
  | 'provider_unavailable'
  /** An answer we cannot trust or read: bad signature, wrong issuer/audience, missing fields. */
  | 'invalid_response';

/** A sign-in the provider did not complete; `retryable` tells whether a new attempt may succeed. */
export class SocialLoginError extends Error {
  readonly retryable: boolean;
  /** HTTP status, when the provider answered. */
  readonly status: number | undefined;
  /** The provider's own code (`invalid_grant`, `KOE320`, `-401`), for logs and support. */
  readonly providerCode: string | undefined;

  constructor(
    readonly code: SocialLoginErrorCode,
    readonly provider: SocialProviderName,
    message: string,
    details: { retryable?: boolean; status?: number; providerCode?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: details.cause });
    this.name = 'SocialLoginError';
    this.retryable = details.retryable ?? code === 'provider_unavailable';
    this.status = details.status;
    this.providerCode = details.providerCode;
  }
}

export interface Pkce {
  codeVerifier: string;
  codeChallenge: string;
}

/** RFC 7636 S256: a 43-character verifier (256 bits) and BASE64URL(SHA256(verifier)). */
export function createPkce(): Pkce {
  const codeVerifier = randomBytes(32).toString('base64url');
  return { codeVerifier, codeChallenge: pkceChallenge(codeVerifier) };
}

export const pkceChallenge = (codeVerifier: string) => createHash('sha256').update(codeVerifier).digest('base64url');

export const randomState = () => randomBytes(32).toString('base64url');
export const randomNonce = () => randomBytes(32).toString('base64url');

/** Everything one login attempt needs: store it all, send state, nonce and the challenge. */
export function createLoginAttempt(): Pkce & { state: string; nonce: string } {
  return { state: randomState(), nonce: randomNonce(), ...createPkce() };
}

/** The callback's parameters as single strings; a repeated parameter is refused, not guessed at. */
export function callbackParams(callback: CodeExchange['callback'], provider: SocialProviderName): Map<string, string> {
  const params = new Map<string, string>();
  const entries = callback instanceof URLSearchParams ? [...callback.entries()] : Object.entries(callback);
  for (const [key, value] of entries) {
    if (value === undefined) continue;
    if (typeof value !== 'string' || params.has(key)) {
      throw new SocialLoginError('invalid_request', provider, `callback parameter "${key}" must appear once`);
    }
    params.set(key, value);
  }
  return params;
}

/**
 * The checks every provider's callback gets before a code is redeemed: an `error` from the
 * provider, then the state (compared in constant time), then a code. Returns the code.
 */
export function checkCallback(params: Map<string, string>, expectedState: string, provider: SocialProviderName): string {
  const error = params.get('error');
  if (error !== undefined) throw authorizationError(provider, error, params.get('error_description'), params.get('error_code'));
  if (!sameSecret(params.get('state') ?? '', expectedState)) {
    throw new SocialLoginError('state_mismatch', provider, 'the callback state is not the one this login started with');
  }
  const code = params.get('code');
  if (!code) throw new SocialLoginError('invalid_response', provider, 'the callback carries neither a code nor an error');
  return code;
}

/** The authorization endpoint's error codes (RFC 6749 4.1.2.1) as our codes. */
export function authorizationError(provider: SocialProviderName, error: string, description?: string, providerCode?: string): SocialLoginError {
  const message = `${provider} refused the authorization: ${error}${description ? ` (${description})` : ''}`;
  const details = { providerCode: providerCode ?? error };
  if (error === 'access_denied' || error === 'consent_required' || error === 'login_required') return new SocialLoginError('access_denied', provider, message, details);
  if (error === 'server_error' || error === 'temporarily_unavailable') return new SocialLoginError('provider_unavailable', provider, message, details);
  return new SocialLoginError('invalid_request', provider, message, details);
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return expected.length > 0 && a.length === b.length && timingSafeEqual(a, b);
}

/**
 * openid-client sends the callback URL minus its query as redirect_uri, so a redirect URI with a
 * query of its own could never match; Kakao is held to the same rule so one value serves both.
 */
export function assertPlainRedirectUri(redirectUri: string, provider: SocialProviderName): URL {
  let url: URL;
  try {
    url = new URL(redirectUri);
  } catch {
    throw new SocialLoginError('invalid_request', provider, 'redirectUri must be an absolute URL');
  }
  if (url.search || url.hash) throw new SocialLoginError('invalid_request', provider, 'redirectUri must not carry a query or fragment');
  return url;
}
