import type { components } from '../generated/api';

export type Problem = components['schemas']['Problem'];
export type ProblemFieldError = components['schemas']['ProblemFieldError'];

/** The `code` given to a failure whose body is not problem+json (a proxy's HTML 502, an empty 304, ...). */
export const UNEXPECTED_RESPONSE = 'unexpected_response';

export function isProblem(body: unknown): body is Problem {
  if (typeof body !== 'object' || body === null) return false;
  const p = body as Record<string, unknown>;
  return typeof p.status === 'number' && typeof p.code === 'string' && typeof p.title === 'string';
}

/**
 * A problem+json answer (RFC 9457) as an exception. Branch on `status` and `code`, never on
 * `detail`; quote `requestId` to support.
 */
export class JunggoApiError extends Error {
  override readonly name = 'JunggoApiError';
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly requestId: string | undefined;
  /** Every field problem: `pointer` into the body, or `parameter` + `in`. Empty when the problem is not about fields. */
  readonly errors: ProblemFieldError[];
  readonly problem: Problem;
  readonly response: Response | undefined;

  constructor(problem: Problem, response?: Response) {
    const requestId = problem.request_id || response?.headers.get('request-id') || undefined;
    super(`${problem.status} ${problem.code}: ${problem.detail ?? problem.title}${requestId ? ` (request ${requestId})` : ''}`);
    this.status = problem.status;
    this.code = problem.code;
    this.title = problem.title;
    this.detail = problem.detail;
    this.requestId = requestId;
    this.errors = problem.errors ?? [];
    this.problem = problem;
    this.response = response;
  }

  /** The error for a failed response; a body that is not a problem gets the code `unexpected_response`. */
  static from(body: unknown, response: Response): JunggoApiError {
    if (isProblem(body)) return new JunggoApiError(body, response);
    return new JunggoApiError(
      {
        type: 'about:blank',
        title: response.statusText || `HTTP ${response.status}`,
        status: response.status,
        code: UNEXPECTED_RESPONSE,
        request_id: response.headers.get('request-id') ?? '',
        ...(typeof body === 'string' && body ? { detail: body.slice(0, 200) } : {}),
      },
      response,
    );
  }
}

/**
 * The data of a 2xx result, or a thrown `JunggoApiError`:
 * `const tree = unwrap(await client.GET('/products/categories'))`.
 * Anything outside 2xx throws, 304 included: read `response.status` yourself when you send
 * `If-None-Match`.
 */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok) return result.data as T;
  throw JunggoApiError.from(result.error, result.response);
}
