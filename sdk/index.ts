export { createJunggoClient, type JunggoClient, type JunggoClientOptions } from './client';
export { isProblem, JunggoApiError, unwrap, UNEXPECTED_RESPONSE, type Problem, type ProblemFieldError } from './errors';
export type { FetchLike, RetryOptions } from './transport';
export type { components, operations, paths } from '../generated/api';
