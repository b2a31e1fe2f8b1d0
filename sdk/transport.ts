/**
 * The fetch that the SDK hands to openapi-fetch. Auth, refresh, Idempotency-Key and retries live
 * here rather than in openapi-fetch middleware because middleware cannot resend a request (its
 * body is spent by then; see openapi-ts/openapi-typescript#1122 and #1558): a fetch wrapper keeps
 * an unsent template of the request and sends a clone of it on every attempt.
 */

export type FetchLike = (request: Request) => Promise<Response>;

export interface RetryOptions {
  /** Attempts in all, the first included; 1 turns retries off. Default 3. */
  maxAttempts?: number;
  /** The longest wait between attempts. A `Retry-After` asking for more is not retried: the response surfaces. Default 10 000. */
  maxDelayMs?: number;
}

export interface TransportOptions {
  fetch: FetchLike;
  session: Session;
  retry: Required<RetryOptions>;
  /** `false`: never add an Idempotency-Key of our own. */
  idempotencyKey: (() => string) | false;
}

export const DEFAULT_RETRY: Required<RetryOptions> = { maxAttempts: 3, maxDelayMs: 10_000 };

// Methods whose repetition has no extra effect (RFC 9110 §9.2.2). A POST joins them once it
// carries an Idempotency-Key: the server then replays instead of acting twice.
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const BACKOFF_BASE_MS = 250;

/** The access token, and a single-flight refresh shared by every request that meets a 401. */
export class Session {
  private inflight: Promise<string | undefined> | undefined;

  constructor(
    private token: string | undefined,
    private readonly refresher: (() => Promise<string | null | undefined>) | undefined,
  ) {}

  get accessToken(): string | undefined {
    return this.token;
  }

  set accessToken(token: string | undefined) {
    this.token = token;
  }

  get canRefresh(): boolean {
    return this.refresher !== undefined;
  }

  /**
   * A token newer than `stale`, or undefined when none can be had. Requests that failed with the
   * same token share one call to the refresher; one that failed with a token already replaced
   * just takes the current one.
   */
  refreshAfter(stale: string | undefined): Promise<string | undefined> {
    if (this.inflight) return this.inflight;
    if (this.token !== stale) return Promise.resolve(this.token);
    const refresher = this.refresher;
    if (!refresher) return Promise.resolve(undefined);
    this.inflight = (async () => {
      try {
        const fresh = (await refresher()) ?? undefined;
        if (fresh) this.token = fresh;
        return fresh;
      } catch {
        // The caller's refresher owns reporting its failure (and logging the user out); the
        // request surfaces its original 401.
        return undefined;
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }
}

export function createTransport(opts: TransportOptions): FetchLike {
  const { fetch, session, retry, idempotencyKey } = opts;
  const maxAttempts = Math.max(1, Math.floor(retry.maxAttempts));

  return async (template: Request) => {
    const method = template.method.toUpperCase();
    if (method === 'POST' && idempotencyKey && !template.headers.has('idempotency-key')) {
      template.headers.set('Idempotency-Key', idempotencyKey());
    }
    const retryable = IDEMPOTENT_METHODS.has(method) || (method === 'POST' && template.headers.has('idempotency-key'));
    // A caller who sets Authorization on the request manages the token; the session stays out.
    const sessionAuth = !template.headers.has('authorization');
    let refreshed = false;

    for (let attempt = 1; ; ) {
      const request = template.clone();
      const token = sessionAuth ? session.accessToken : undefined;
      if (token) request.headers.set('Authorization', `Bearer ${token}`);
      const response = await fetch(request);

      if (response.status === 401 && sessionAuth && session.canRefresh && !refreshed && (await problemCode(response)) === 'unauthenticated') {
        // A 401 is decided before any handler runs, so resending is safe for every method.
        refreshed = true;
        if (await session.refreshAfter(token)) {
          await discard(response);
          continue;
        }
        return response;
      }

      if (retryable && attempt < maxAttempts) {
        const delay = await retryDelay(response, attempt, retry.maxDelayMs);
        if (delay !== undefined) {
          await discard(response);
          await sleep(delay, template.signal);
          attempt += 1;
          continue;
        }
      }
      return response;
    }
  };
}

/** How long to wait before the next attempt, or undefined when this response must not be retried. */
async function retryDelay(response: Response, attempt: number, maxDelayMs: number): Promise<number | undefined> {
  switch (response.status) {
    case 429:
    case 503:
      break;
    case 409:
      if ((await problemCode(response)) === 'idempotency_request_in_progress') break;
      return undefined;
    default:
      return undefined;
  }
  const asked = parseRetryAfter(response.headers.get('retry-after'));
  if (asked !== undefined) return asked <= maxDelayMs ? asked : undefined;
  // No Retry-After: exponential backoff with jitter, capped.
  const ceiling = Math.min(maxDelayMs, BACKOFF_BASE_MS * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** `Retry-After` (RFC 9110 §10.2.3) in milliseconds from `now`: delay-seconds or an HTTP-date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Every HTTP-date form starts with a day name; without this check Date.parse('-1') is a date.
  if (!/^[A-Za-z]{3}/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The problem `code` of a problem+json response, read from a clone so the caller still gets the body. */
async function problemCode(response: Response): Promise<string | undefined> {
  if (!/json/i.test(response.headers.get('content-type') ?? '')) return undefined;
  try {
    const body: unknown = await response.clone().json();
    const code = typeof body === 'object' && body !== null ? (body as { code?: unknown }).code : undefined;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** Release a response we will not hand out, so its connection goes back to the pool. */
async function discard(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    /* already consumed or errored: nothing to release */
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A v4 UUID: `crypto.randomUUID` where it exists (Node 20, browsers in secure contexts), `getRandomValues` otherwise. */
export function randomIdempotencyKey(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
