import * as oidc from 'openid-client';
import {
  assertPlainRedirectUri,
  authorizationError,
  callbackParams,
  checkCallback,
  SocialLoginError,
  type AuthorizationRequest,
  type CodeExchange,
  type SocialIdentity,
  type SocialProvider,
} from './social-provider';

/**
 * Google Sign-In over OpenID Connect (https://developers.google.com/identity/openid-connect/openid-connect):
 * discovery from the issuer, authorization code flow with PKCE S256, state and nonce, and the ID
 * token verified by openid-client (JWKS signature, iss, aud, exp, iat, nonce).
 */
export interface GoogleOptions {
  /** `https://accounts.google.com` in production; the simulator's URL locally. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Per HTTP request (discovery, token, JWKS). */
  timeoutMs?: number;
}

const SCOPE = 'openid email profile';

/**
 * A SocialProvider on Google (or on the Google simulator, a real OpenID Provider).
 *
 * Discovery runs on first use and is kept once it succeeded, so the API boots while Google is
 * unreachable and a failed discovery is retried by the next login instead of being remembered.
 */
export function createGoogleProvider(options: GoogleOptions): SocialProvider {
  const issuer = new URL(options.issuer);
  // openid-client refuses plain HTTP; the local simulator is the one place it is acceptable.
  const insecure = issuer.protocol === 'http:' && isLoopback(issuer.hostname);
  if (issuer.protocol !== 'https:' && !insecure) throw new Error('the Google issuer must be https (http only on 127.0.0.1 or localhost)');
  const timeoutSeconds = Math.max(1, Math.ceil((options.timeoutMs ?? 10_000) / 1000));

  let discovered: Promise<oidc.Configuration> | undefined;
  const configuration = () =>
    (discovered ??= oidc
      .discovery(issuer, options.clientId, undefined, oidc.ClientSecretPost(options.clientSecret), {
        // openid-client trusts TLS for an ID token straight from the token endpoint (OIDC Core
        // 3.1.3.7) and skips its signature; we check it against the JWKS anyway, so a token that
        // did not come from the issuer's keys is refused whatever the transport.
        execute: insecure ? [oidc.enableNonRepudiationChecks, oidc.allowInsecureRequests] : [oidc.enableNonRepudiationChecks],
        timeout: timeoutSeconds,
      })
      .catch((err: unknown) => {
        discovered = undefined;
        throw toLoginError(err, 'discovery');
      }));

  return {
    name: 'google',

    async authorizationUrl({ state, nonce, codeChallenge, redirectUri }: AuthorizationRequest): Promise<string> {
      assertPlainRedirectUri(redirectUri, 'google');
      const url = oidc.buildAuthorizationUrl(await configuration(), {
        redirect_uri: redirectUri,
        scope: SCOPE,
        state,
        nonce,
        code_challenge: codeChallenge,
        code_challenge_method: 'S256',
      });
      return url.href;
    },

    async exchangeCode({ callback, expectedState, nonce, codeVerifier, redirectUri }: CodeExchange): Promise<SocialIdentity> {
      const params = callbackParams(callback, 'google');
      checkCallback(params, expectedState, 'google');
      const currentUrl = assertPlainRedirectUri(redirectUri, 'google');
      for (const [key, value] of params) currentUrl.searchParams.set(key, value);
      const config = await configuration();

      let claims: oidc.IDToken | undefined;
      try {
        const tokens = await oidc.authorizationCodeGrant(config, currentUrl, {
          pkceCodeVerifier: codeVerifier,
          expectedState,
          expectedNonce: nonce,
          idTokenExpected: true,
        });
        claims = tokens.claims();
      } catch (err) {
        throw toLoginError(err, 'token');
      }
      if (!claims?.sub) throw new SocialLoginError('invalid_response', 'google', 'the token response carries no ID token subject');
      return {
        provider: 'google',
        subject: claims.sub,
        ...(typeof claims.email === 'string' ? { email: claims.email } : {}),
        // Older Google tokens carried the string "true"; anything else is not a promise.
        emailVerified: typeof claims.email === 'string' && (claims.email_verified === true || claims.email_verified === 'true'),
        ...(typeof claims.name === 'string' ? { name: claims.name } : {}),
      };
    },
  };
}

const isLoopback = (hostname: string) => hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';

/** openid-client's errors (and fetch's) as ours. Unknown shapes become invalid_response, never a retry. */
function toLoginError(err: unknown, step: 'discovery' | 'token'): SocialLoginError {
  if (err instanceof SocialLoginError) return err;
  const fail = (code: ConstructorParameters<typeof SocialLoginError>[0], message: string, details: { status?: number; providerCode?: string } = {}) =>
    new SocialLoginError(code, 'google', `Google ${step}: ${message}`, { ...details, cause: err });

  if (err instanceof oidc.ResponseBodyError) {
    const details = { status: err.status, providerCode: err.error };
    const said = `${err.error}${err.error_description ? ` (${err.error_description})` : ''}`;
    if (err.error === 'invalid_grant') return fail('invalid_grant', said, details);
    if (err.error === 'invalid_client' || err.error === 'unauthorized_client') return fail('invalid_client', said, details);
    if (err.error === 'server_error' || err.error === 'temporarily_unavailable' || err.status >= 500 || err.status === 429) {
      return fail('provider_unavailable', said, details);
    }
    return fail('invalid_request', said, details);
  }
  if (err instanceof oidc.AuthorizationResponseError) return authorizationError('google', err.error, err.error_description);
  if (err instanceof oidc.ClientError) {
    if (err.code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && claimOf(err) === 'nonce') {
      return fail('nonce_mismatch', 'the ID token was issued for another login attempt (nonce differs)');
    }
    if (err.code === 'OAUTH_TIMEOUT' || err.code === 'OAUTH_ABORT') return fail('provider_unavailable', `no answer within the timeout (${err.message})`);
    if (err.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || err.code === 'OAUTH_RESPONSE_IS_NOT_JSON') {
      const status = err.cause instanceof Response ? err.cause.status : undefined;
      if (status !== undefined && (status >= 500 || status === 429)) return fail('provider_unavailable', `answered ${status}`, { status });
      return fail('invalid_response', `${err.message}${status === undefined ? '' : ` (${status})`}`, status === undefined ? {} : { status });
    }
    return fail('invalid_response', `${err.message}${reason(err)}`);
  }
  // fetch's own failures (refused, reset, DNS) are TypeErrors without a code; coded ones are our bugs.
  if (err instanceof TypeError && !('code' in err)) return fail('provider_unavailable', `could not reach Google: ${err.cause instanceof Error ? err.cause.message : err.message}`);
  if (err instanceof Error) return fail('invalid_response', err.message);
  return fail('invalid_response', String(err));
}

function claimOf(err: Error): unknown {
  const inner = err.cause as { cause?: { claim?: unknown } } | undefined;
  return inner?.cause?.claim;
}

const reason = (err: Error) => (err.cause instanceof Error && err.cause.message !== err.message ? `: ${err.cause.message}` : '');
