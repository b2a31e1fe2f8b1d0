import type { categoriesModule } from './modules/categories';
import type { UsersModule } from './modules/users';
import type { SocialModule } from './modules/users/social';
import type { AccountAdminModule } from './modules/users/admin';
import type { IdentityVerificationModule } from './modules/users/identity-verification';
import type { NeighbourhoodsModule } from './modules/neighbourhoods';
import type { ProductsModule } from './modules/products';
import type { EngagementModule } from './modules/engagement';
import type { ProductImagesModule } from './modules/products/images';
import type { SearchModule } from './modules/search';
import type { HandlerMap } from './platform/http/operations';

interface Modules {
  categories: Pick<ReturnType<typeof categoriesModule>, 'handlers'>;
  users: Pick<UsersModule, 'handlers'>;
  social: Pick<SocialModule, 'handlers'>;
  accountAdmin: Pick<AccountAdminModule, 'handlers'>;
  identityVerification: Pick<IdentityVerificationModule, 'handlers'>;
  neighbourhoods: Pick<NeighbourhoodsModule, 'handlers'>;
  products: Pick<ProductsModule, 'handlers'>;
  engagement: Pick<EngagementModule, 'handlers'>;
  productImages: Pick<ProductImagesModule, 'handlers'>;
  search: Pick<SearchModule, 'handlers'>;
}

/**
 * Every API operation of the spec, by operationId. Typed as HandlerMap: an operation added to
 * the spec without a handler here, or a handler whose types drift from the spec, fails to compile.
 */
export function handlerMap(modules: Modules): HandlerMap {
  return {
    ...modules.categories.handlers,
    ...modules.users.handlers,
    ...modules.social.handlers,
    ...modules.accountAdmin.handlers,
    ...modules.identityVerification.handlers,
    ...modules.neighbourhoods.handlers,
    ...modules.products.handlers,
    ...modules.engagement.handlers,
    ...modules.productImages.handlers,
    ...modules.search.handlers,
  } satisfies HandlerMap;
}
