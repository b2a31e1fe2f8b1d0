import {
  assertPlainRedirectUri,
  callbackParams,
  checkCallback,
  SocialLoginError,
  type AuthorizationRequest,
  type CodeExchange,
  type SocialIdentity,
  type SocialLoginErrorCode,
  type SocialProvider,
} from './social-provider';

/**
 * Kakao Login over its REST API (https://developers.kakao.com/docs/latest/ko/kakaologin/rest-api),
 * plain OAuth 2.0 with PKCE, then the user info API for who signed in:
 * GET {auth}/oauth/authorize, POST {auth}/oauth/token, GET {api}/v2/user/me.
 *
 * Kakao's OIDC (scope `openid`, ID tokens) needs it switched on per app in the console; plain
 * OAuth works for every app, so the nonce of the port is not used here.
 */
export interface KakaoOptions {
  /** `https://kauth.kakao.com` in production; the simulator's URL locally. */
  authBaseUrl?: string;
  /** `https://kapi.kakao.com` in production; the simulator's URL locally. */
  apiBaseUrl?: string;
  /** The app's REST API key. */
  clientId: string;
  /** Required once "Client Secret" is enabled for the app in the console (it should be). */
  clientSecret?: string;
  /** Per HTTP request. */
  timeoutMs?: number;
}

export const KAKAO_AUTH_BASE_URL = 'https://kauth.kakao.com';
export const KAKAO_API_BASE_URL = 'https://kapi.kakao.com';

/** A SocialProvider on Kakao (or on the Kakao simulator, which speaks the same API). */
export function createKakaoProvider(options: KakaoOptions): SocialProvider {
  const authBase = options.authBaseUrl ?? KAKAO_AUTH_BASE_URL;
  const timeoutMs = options.timeoutMs ?? 10_000;

  return {
    name: 'kakao',

    async authorizationUrl({ state, codeChallenge, redirectUri }: AuthorizationRequest): Promise<string> {
      assertPlainRedirectUri(redirectUri, 'kakao');
      const url = new URL('/oauth/authorize', authBase);
      url.search = new URLSearchParams({
        client_id: options.clientId,
        redirect_uri: redirectUri,
        response_type: 'code',
        state,
        code_challenge: codeChallenge,
        code_challenge_method: 'S256',
      }).toString();
      return url.href;
    },

    async exchangeCode({ callback, expectedState, codeVerifier, redirectUri }: CodeExchange): Promise<SocialIdentity> {
      const code = checkCallback(callbackParams(callback, 'kakao'), expectedState, 'kakao');
      assertPlainRedirectUri(redirectUri, 'kakao');
      const form = new URLSearchParams({ grant_type: 'authorization_code', client_id: options.clientId, redirect_uri: redirectUri, code, code_verifier: codeVerifier });
      if (options.clientSecret) form.set('client_secret', options.clientSecret);

      const response = await call('token', new URL('/oauth/token', authBase), {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded;charset=utf-8' },
        body: form.toString(),
      }, timeoutMs);
      const body = await readJson(response);
      if (response.status !== 200) throw tokenError(response.status, body);
      const accessToken = body?.access_token;
      if (typeof accessToken !== 'string' || !accessToken) throw new SocialLoginError('invalid_response', 'kakao', 'Kakao token: 200 without an access_token', { status: 200 });
      return fetchKakaoUser({ apiBaseUrl: options.apiBaseUrl, timeoutMs }, accessToken);
    },
  };
}

/** GET /v2/user/me with the user's access token, as the identity Kakao vouches for. */
export async function fetchKakaoUser(options: Pick<KakaoOptions, 'apiBaseUrl' | 'timeoutMs'>, accessToken: string): Promise<SocialIdentity> {
  const response = await call('user info', new URL('/v2/user/me', options.apiBaseUrl ?? KAKAO_API_BASE_URL), {
    method: 'GET',
    headers: { Authorization: `Bearer ${accessToken}` },
  }, options.timeoutMs ?? 10_000);
  const body = await readJson(response);
  if (response.status !== 200) throw apiError(response.status, body);
  return identityOf(body);
}

type Json = Record<string, unknown>;

async function call(step: string, url: URL, init: RequestInit, timeoutMs: number): Promise<Response> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    return await fetch(url, { ...init, signal: timeout });
  } catch (err) {
    const why = timeout.aborted ? `no answer within ${timeoutMs} ms` : `could not reach Kakao: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`;
    throw new SocialLoginError('provider_unavailable', 'kakao', `Kakao ${step}: ${why}`, { cause: err });
  }
}

// Undefined for a body that is not a JSON object (a proxy's HTML page, a cut-off answer): the status decides then.
async function readJson(response: Response): Promise<Json | undefined> {
  try {
    const parsed: unknown = JSON.parse(await response.text());
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Json) : undefined;
  } catch {
    return undefined;
  }
}

const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

/** kauth's errors: `{ error, error_description, error_code: "KOE320" }`. */
function tokenError(status: number, body: Json | undefined): SocialLoginError {
  const error = str(body?.error);
  const koe = str(body?.error_code);
  const said = [error, str(body?.error_description), koe].filter(Boolean).join(' - ');
  const fail = (code: SocialLoginErrorCode) =>
    new SocialLoginError(code, 'kakao', `Kakao token answered ${status}${said ? `: ${said}` : ''}`, { status, ...(koe || error ? { providerCode: koe ?? error } : {}) });
  if (status >= 500 || status === 429 || error === 'server_error' || error === 'temporarily_unavailable' || koe === 'KOE003') return fail('provider_unavailable');
  if (error === 'invalid_grant') return fail('invalid_grant');
  if (error === 'invalid_client' || error === 'unauthorized_client' || status === 401) return fail('invalid_client');
  if (status >= 400 && status < 500) return fail('invalid_request');
  return fail('invalid_response');
}

/** kapi's errors: `{ msg, code }` with Kakao's negative codes (https://developers.kakao.com/docs/latest/en/rest-api/error-code). */
function apiError(status: number, body: Json | undefined): SocialLoginError {
  const code = typeof body?.code === 'number' ? body.code : undefined;
  const said = [str(body?.msg), code === undefined ? undefined : String(code)].filter(Boolean).join(' - ');
  const fail = (ours: SocialLoginErrorCode) =>
    new SocialLoginError(ours, 'kakao', `Kakao user info answered ${status}${said ? `: ${said}` : ''}`, { status, ...(code === undefined ? {} : { providerCode: String(code) }) });
  if (code === -401 || status === 401) return fail('invalid_token');
  // -1 internal error, -7 maintenance, -10 quota: Kakao answers these with 400, yet they pass.
  if (status >= 500 || status === 429 || code === -1 || code === -7 || code === -10) return fail('provider_unavailable');
  // -101 not linked to the app, -103 dormant account, -406 under 14 where the app forbids it.
  if (code === -101 || code === -103 || code === -406) return fail('access_denied');
  if (status >= 400 && status < 500) return fail('invalid_request');
  return fail('invalid_response');
}

function identityOf(body: Json | undefined): SocialIdentity {
  const id = body?.id;
  // Kakao documents the member number as a Long; past 2^53 JSON.parse would silently change it.
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) {
    throw new SocialLoginError('invalid_response', 'kakao', 'Kakao user info: no usable member number `id`', { status: 200 });
  }
  const account = (body?.kakao_account ?? {}) as Json;
  const profile = (account.profile ?? {}) as Json;
  const properties = (body?.properties ?? {}) as Json;
  const email = str(account.email);
  const name = str(profile.nickname) ?? str(properties.nickname);
  return {
    provider: 'kakao',
    subject: String(id),
    ...(email ? { email } : {}),
    // Kakao's own advice: the address is usable only when both flags hold.
    emailVerified: email !== undefined && account.is_email_valid === true && account.is_email_verified === true,
    ...(name ? { name } : {}),
  };
}
