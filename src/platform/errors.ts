/** A field-level problem: `pointer` into the body, or `parameter` + `in`. */
export interface FieldError {
  pointer?: string;
  parameter?: string;
  in?: 'query' | 'path' | 'header' | 'cookie';
  code: string;
  detail: string;
}

/**
 * An expected failure a client can act on. Thrown by use cases and platform code; the error
 * middleware renders it as problem+json. Anything else thrown is an unexpected 500.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail?: string,
    readonly errors: FieldError[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
    this.name = 'AppError';
  }
}

export const unauthenticated = (detail = 'A valid access token is required.') =>
  new AppError(401, 'unauthenticated', 'Authentication is required', detail, [], { 'WWW-Authenticate': 'Bearer' });
/** A validly signed token whose account is gone: the token no longer stands for anyone. */
export const accountGone = () => unauthenticated('The account of this token no longer exists.');
/** The account a token names, or the 401 for a token whose account is gone. */
export function requireAccount<T>(account: T | null | undefined): T {
  if (account === null || account === undefined) throw accountGone();
  return account;
}
export const notFound = (detail = 'No resource has this id.') => new AppError(404, 'not_found', 'Not found', detail);
