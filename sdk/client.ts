import createClient, { type Client } from 'openapi-fetch';
import type { paths } from '../generated/api';
import { createTransport, DEFAULT_RETRY, randomIdempotencyKey, Session, type FetchLike, type RetryOptions } from './transport';

export interface JunggoClientOptions {
  /** The API root including the version, e.g. `https://api.junggo.example/v1`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>`; change it later with `setAccessToken`. */
  accessToken?: string;
  /**
   * Called on a 401 `unauthenticated` to get a new access token; concurrent 401s share one call.
   * Resolve to the new token, or to null/undefined (or throw) when the session is over: the
   * request then surfaces its 401. Wire it to `POST /v1/auth/refresh` (refresh tokens rotate on
   * use, so store the new refresh token it returns).
   */
  refresh?: () => Promise<string | null | undefined>;
  /** The fetch to send requests with (default: `globalThis.fetch` at call time). */
  fetch?: FetchLike;
  /** Retries of 429, 503 and 409 `idempotency_request_in_progress`, honouring `Retry-After`. */
  retry?: RetryOptions;
  /**
   * Makes the Idempotency-Key of a POST that has none (default: a random UUID). The key is made
   * once per call and reused by that call's retries. `false`: never add one.
   */
  idempotencyKey?: (() => string) | false;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
}

/** openapi-fetch's client typed by the spec's `paths`, plus the session helpers. */
export type JunggoClient<Paths extends {} = paths> = Client<Paths> & {
  /** The token the next requests carry (after a refresh, the refreshed one). */
  readonly accessToken: string | undefined;
  /** Replace the access token, e.g. after login; `undefined` after logout. */
  setAccessToken(token: string | undefined): void;
};

/**
 * A typed Junggo API client. `Paths` defaults to the generated `paths`; tests and previews
 * of unreleased operations may pass their own.
 */
export function createJunggoClient<Paths extends {} = paths>(options: JunggoClientOptions): JunggoClient<Paths> {
  const session = new Session(options.accessToken, options.refresh);
  const fetch = createTransport({
    fetch: options.fetch ?? ((request) => globalThis.fetch(request)),
    session,
    retry: {
      maxAttempts: options.retry?.maxAttempts ?? DEFAULT_RETRY.maxAttempts,
      maxDelayMs: options.retry?.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs,
    },
    idempotencyKey: options.idempotencyKey ?? randomIdempotencyKey,
  });
  const client = createClient<Paths>({ baseUrl: options.baseUrl, fetch, ...(options.headers ? { headers: options.headers } : {}) });
  // openapi-fetch's methods are closures (no `this`), so spreading them is safe.
  return {
    ...client,
    get accessToken() {
      return session.accessToken;
    },
    setAccessToken(token: string | undefined) {
      session.accessToken = token;
    },
  };
}
