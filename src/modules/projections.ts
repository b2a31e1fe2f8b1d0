import { activityLogProjection } from './activity/activity-log.projection';
import { userProfileProjection } from './users/user-profile.projection';
import { productDetailProjection } from './products/product-detail.projection';
import type { Projection } from '../platform/events/projection';
import type { Doc } from '../platform/documents/document-store';

/** Every read model kept from events, by name: the worker subscribes them, `make replay` rebuilds them. */
export const projections: Projection<Doc>[] = [activityLogProjection, userProfileProjection, productDetailProjection] as unknown as Projection<Doc>[];
