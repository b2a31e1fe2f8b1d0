import type { categoriesModule } from './modules/categories';
import type { UsersModule } from './modules/users';
import type { HandlerMap } from './platform/http/operations';

interface Modules {
  categories: Pick<ReturnType<typeof categoriesModule>, 'handlers'>;
  users: Pick<UsersModule, 'handlers'>;
}

/**
 * Every API operation of the spec, by operationId. Typed as HandlerMap: an operation added to
 * the spec without a handler here, or a handler whose types drift from the spec, fails to compile.
 */
export function handlerMap(modules: Modules): HandlerMap {
  return {
    ...modules.categories.handlers,
    ...modules.users.handlers,
  } satisfies HandlerMap;
}
