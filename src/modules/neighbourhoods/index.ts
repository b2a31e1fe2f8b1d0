import type { Sequelize } from 'sequelize';
import { eventRecorder } from '../../platform/events/event-store';
import { createDongRepository } from './data/dong-repository';
import { createNeighbourhoodRepository } from './data/neighbourhood-repository';
import { createDongResolver } from './domain/dong-resolver';
import { neighbourhoodUseCases, verifiedNeighbourhoodGuard } from './domain/neighbourhoods';
import { deleteMyNeighbourhood } from './http/deleteMyNeighbourhood';
import { getMyLocationConsent } from './http/getMyLocationConsent';
import { giveLocationConsent } from './http/giveLocationConsent';
import { listMyNeighbourhoods } from './http/listMyNeighbourhoods';
import { updateMyNeighbourhood } from './http/updateMyNeighbourhood';
import { verifyMyNeighbourhood } from './http/verifyMyNeighbourhood';
import { withdrawLocationConsent } from './http/withdrawLocationConsent';

export { RANGE_METERS, type NeighbourhoodRange, type UserNeighbourhood } from './domain/neighbourhood';

/**
 * For posting and chat: the user's active verified neighbourhood (primary first), or
 * `403 neighbourhood_verification_required` when none is verified or all have lapsed.
 */
export const createRequireVerifiedNeighbourhood = (sequelize: Sequelize) => verifiedNeighbourhoodGuard(createNeighbourhoodRepository(sequelize));

/** Wires the neighbourhoods component: location consent, 동네인증 and the dong resolver. */
export function neighbourhoodsModule(d: { sequelize: Sequelize }) {
  const { sequelize } = d;
  const repository = createNeighbourhoodRepository(sequelize);
  const resolver = createDongResolver(createDongRepository(sequelize));
  const neighbourhoods = neighbourhoodUseCases({ sequelize, neighbourhoods: repository, resolver, recordEvents: eventRecorder(sequelize) });
  return {
    neighbourhoods,
    resolver,
    /** Other components call this before posting or chatting. */
    requireVerifiedNeighbourhood: verifiedNeighbourhoodGuard(repository),
    handlers: {
      getMyLocationConsent: getMyLocationConsent(neighbourhoods),
      giveLocationConsent: giveLocationConsent(neighbourhoods),
      withdrawLocationConsent: withdrawLocationConsent(neighbourhoods),
      listMyNeighbourhoods: listMyNeighbourhoods(neighbourhoods),
      verifyMyNeighbourhood: verifyMyNeighbourhood(neighbourhoods),
      updateMyNeighbourhood: updateMyNeighbourhood(neighbourhoods),
      deleteMyNeighbourhood: deleteMyNeighbourhood(neighbourhoods),
    },
  };
}

export type NeighbourhoodsModule = ReturnType<typeof neighbourhoodsModule>;
