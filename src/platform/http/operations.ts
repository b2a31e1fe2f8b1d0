import type { operations } from '../../../generated/api';
import type { RequestContext } from '../context';
import type { JsonBytes } from './json-bytes';
import type { MultipartBody } from './multipart';

// Types that tie handlers to the generated spec: a spec operation without a handler, or a
// handler that reads or returns the wrong shapes, does not compile.

/** Operational routes: served outside /v1 and outside the validator, by the ops router. */
export type OpsOperationId = 'getLiveness' | 'getReadiness' | 'getMetrics' | 'getApiDocs' | 'getOpenApiJson' | 'getOpenApiYaml' | 'getQueueBoard';
/** Served outside /v1 by the storage's media router (platform/storage/media-route.ts). */
export type MediaOperationId = 'getMediaObject';
export type ApiOperationId = Exclude<keyof operations, OpsOperationId | MediaOperationId>;

type Op<K extends keyof operations> = operations[K];
type Present<T> = [NonNullable<T>] extends [never] ? Record<string, never> : NonNullable<T>;
type Known<T> = { [P in keyof T as string extends P ? never : number extends P ? never : P]: T[P] };

/** Headers that the platform sets on every response; handlers never set them. */
type PlatformHeader = 'Request-Id' | 'RateLimit-Policy' | 'RateLimit' | 'Retry-After' | 'Access-Control-Allow-Origin' | 'Idempotent-Replayed';

type JsonOf<C> = C extends { content: { 'application/json': infer B } } ? B : never;
type HeadersOf<R> = R extends { headers: infer H } ? Omit<Known<H>, PlatformHeader> : Record<string, never>;
// 302: a redirect a handler answers on purpose (e.g. to an identity provider's login page).
type SuccessStatus = 200 | 201 | 202 | 204 | 302 | 304;

type ResultFor<S, R> = { status: S } & (keyof HeadersOf<R> extends never ? { headers?: Record<string, never> } : { headers: { [H in keyof HeadersOf<R>]: string } }) &
  ([JsonOf<R>] extends [never] ? { body?: never } : { body: JsonOf<R> | JsonBytes<JsonOf<R>> });

type Responses<K extends keyof operations> = Op<K>['responses'];
export type HandlerResult<K extends keyof operations> = {
  [S in Extract<keyof Responses<K>, SuccessStatus>]: ResultFor<S, Responses<K>[S]>;
}[Extract<keyof Responses<K>, SuccessStatus>];

type BodyOf<K extends keyof operations> = Op<K> extends { requestBody: { content: { 'multipart/form-data': unknown } } }
  ? MultipartBody
  : Op<K> extends { requestBody: { content: { 'application/json': infer B } } }
    ? B
    : Op<K> extends { requestBody?: { content: { 'application/json': infer B } } }
      ? B | undefined
      : undefined;

export interface HandlerInput<K extends keyof operations> {
  ctx: RequestContext;
  path: Present<Op<K>['parameters']['path']>;
  query: Present<Op<K>['parameters']['query']>;
  headers: Present<Op<K>['parameters']['header']>;
  body: BodyOf<K>;
}

/** An HTTP-only adapter: reads the typed request, calls one use case, maps its result. Errors are thrown. */
export type Handler<K extends keyof operations> = (input: HandlerInput<K>) => Promise<HandlerResult<K>>;
export type HandlerMap = { [K in ApiOperationId]: Handler<K> };
