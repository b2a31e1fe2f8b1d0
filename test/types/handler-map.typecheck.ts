// Compile-time tests, run by `make typecheck` (part of `make test`): each @ts-expect-error must
// meet an error, or tsc fails with "Unused '@ts-expect-error' directive".
import type { Handler, HandlerMap } from '../../src/platform/http/operations';
import type { components } from '../../generated/api';

type Category = components['schemas']['Category'];
declare const category: Category;
const ok: Handler<'getProductCategory'> = async () => ({ status: 200, headers: { ETag: '"a"', 'Cache-Control': 'no-cache' }, body: category });

// @ts-expect-error a spec operation without a handler does not compile
export const missingOperation: HandlerMap = { listProductCategories: ok as never, getProductCategory: ok };

// @ts-expect-error a body that is not the documented schema
export const wrongBody: Handler<'getProductCategory'> = async () => ({ status: 200, headers: { ETag: '"a"', 'Cache-Control': 'x' }, body: { id: 1 } });

// @ts-expect-error a documented response header (ETag) left out
export const missingHeader: Handler<'getProductCategory'> = async () => ({ status: 200, headers: { 'Cache-Control': 'x' }, body: category });

// @ts-expect-error a status the operation does not document
export const undocumentedStatus: Handler<'getProductCategory'> = async () => ({ status: 201, headers: { ETag: '"a"', 'Cache-Control': 'x' }, body: category });

export const unknownParameter: Handler<'listProductCategories'> = async ({ query }) => {
  // @ts-expect-error a query parameter the spec does not declare
  void query.page;
  return { status: 304, headers: { ETag: '"a"', 'Cache-Control': 'x' } };
};

export const wrongRequestBody: Handler<'updateProductCategory'> = async ({ body }) => {
  // @ts-expect-error a request field the spec does not declare
  void body.slug;
  return { status: 200, headers: { ETag: '"a"' }, body: category };
};
