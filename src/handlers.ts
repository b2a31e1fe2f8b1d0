import type { HandlerMap } from './platform/http/operations';

/**
 * Every API operation of the spec, by operationId. Typed as HandlerMap: an operation added to
 * the spec without a handler here, or a handler whose types drift from the spec, fails to compile.
 */
export function handlerMap(modules: { categories: { handlers: Pick<HandlerMap, 'listProductCategories' | 'getProductCategory' | 'updateProductCategory'> } }): HandlerMap {
  return {
    ...modules.categories.handlers,
  } satisfies HandlerMap;
}
