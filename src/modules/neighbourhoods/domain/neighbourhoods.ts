import type { Sequelize, Transaction } from 'sequelize';
import type { RequestContext } from '../../../platform/context';
import { inTransaction } from '../../../platform/db/transaction';
import { notFound } from '../../../platform/errors';
import { metadataFrom, type RecordEvents } from '../../../platform/events/event-store';
import type { NeighbourhoodRepository } from '../data/neighbourhood-repository';
import type { DongResolver } from './dong-resolver';
import {
  CURRENT_LOCATION_TERMS_VERSION,
  MAX_NEIGHBOURHOODS,
  RANGE_METERS,
  VERIFICATION_TTL_DAYS,
  type LocationConsent,
  type NeighbourhoodRange,
  type UserNeighbourhood,
} from './neighbourhood';
import { locationConsentRequired, locationTermsOutdated, neighbourhoodLimitReached, neighbourhoodVerificationRequired } from './problems';

export interface NeighbourhoodsDeps {
  sequelize: Sequelize;
  neighbourhoods: NeighbourhoodRepository;
  resolver: DongResolver;
  recordEvents: RecordEvents;
}

/** A neighbourhood with the other dongs its range covers, nearest first. */
export interface NeighbourhoodView extends UserNeighbourhood {
  neighbours: { dongCode: string; name: string; distanceMeters: number }[];
}

const userRef = (id: string) => ({ type: 'user', id });

/** Only an agreement to the terms in force counts: a new version of the terms needs a new one. */
const agreedToCurrentTerms = (consent: LocationConsent | null) => consent?.termsVersion === CURRENT_LOCATION_TERMS_VERSION;

export function neighbourhoodUseCases(deps: NeighbourhoodsDeps) {
  const { sequelize, neighbourhoods, resolver, recordEvents } = deps;

  // Inside a transaction every read goes through it: a transaction holding the user's locks that
  // waited for a second pooled connection could wait on requests queued behind those very locks,
  // each holding a connection, until the pool's acquire timeout (docs/neighbourhoods.md).
  const withNeighbours = async (n: UserNeighbourhood, transaction?: Transaction): Promise<NeighbourhoodView> => {
    const around = await resolver.neighbourhood(n.dongCode, RANGE_METERS[n.range], transaction);
    const neighbours = around.filter((d) => d.code !== n.dongCode).map((d) => ({ dongCode: d.code, name: d.name, distanceMeters: Math.round((d as { distanceMeters?: number }).distanceMeters ?? 0) }));
    return { ...n, neighbours };
  };

  /**
   * Every write to a user's neighbourhoods locks the consent row first (a withdrawal deletes it),
   * then the rows in the repository's fixed order: writers queue on the consent one by one, never
   * deadlock on the rows, and each reads the rows only once the one before has committed (a row
   * added by it is not missed).
   */
  const lockNeighbourhoods = async (userId: string, t: Transaction) => {
    const consent = await neighbourhoods.consent(userId, t, true);
    return { consent, held: await neighbourhoods.list(userId, t) };
  };

  return {
    async consent(userId: string): Promise<LocationConsent> {
      const consent = await neighbourhoods.consent(userId);
      if (!consent) throw notFound('You have not agreed to the location-based service terms.');
      return consent;
    },

    /** Records agreement to the current location terms (`user.location_consent_given`); agreeing again changes nothing. */
    async giveConsent(ctx: RequestContext, userId: string, termsVersion: string): Promise<LocationConsent> {
      if (termsVersion !== CURRENT_LOCATION_TERMS_VERSION) throw locationTermsOutdated(CURRENT_LOCATION_TERMS_VERSION);
      return inTransaction(sequelize, ctx, async (t) => {
        const current = await neighbourhoods.consent(userId, t, true);
        if (current?.termsVersion === termsVersion) return current;
        const consent = await neighbourhoods.saveConsent(userId, termsVersion, t);
        await recordEvents(
          t,
          userRef(userId),
          [{ type: 'user.location_consent_given', payload: { user_id: userId, terms_version: termsVersion, agreed_at: consent.agreedAt.toISOString() } }],
          metadataFrom(ctx),
        );
        return consent;
      });
    },

    /** Withdraws the consent and deletes every neighbourhood verification (`user.location_consent_withdrawn`). */
    async withdrawConsent(ctx: RequestContext, userId: string): Promise<void> {
      await inTransaction(sequelize, ctx, async (t) => {
        const { deleted, dongCodes } = await neighbourhoods.deleteConsent(userId, t);
        if (!deleted) throw notFound('You have not agreed to the location-based service terms.');
        await recordEvents(t, userRef(userId), [{ type: 'user.location_consent_withdrawn', payload: { user_id: userId, removed_dong_codes: dongCodes } }], metadataFrom(ctx));
      });
    },

    /**
     * 동네인증: resolves the position to a dong (the coordinates go no further) and verifies it for
     * 30 days, renewing a dong already held, replacing lapsed ones, refusing a third active one.
     */
    async verify(ctx: RequestContext, userId: string, position: { lat: number; lng: number }): Promise<NeighbourhoodView> {
      // Before the coordinates are even looked at; in the request's transaction when there is one
      // (an Idempotency-Key), which already holds a connection.
      if (!agreedToCurrentTerms(await neighbourhoods.consent(userId, ctx.transaction))) throw locationConsentRequired();
      const dong = await resolver.resolve(position.lat, position.lng, ctx.transaction);
      return inTransaction(sequelize, ctx, async (t) => {
        // The consent's lock orders this against a withdrawal and against the user's other writes.
        const { consent, held } = await lockNeighbourhoods(userId, t);
        if (!agreedToCurrentTerms(consent)) throw locationConsentRequired();
        const existing = held.find((n) => n.dongCode === dong.code);
        let primary = existing?.primary ?? false;
        if (!existing) {
          if (held.filter((n) => n.active).length >= MAX_NEIGHBOURHOODS) throw neighbourhoodLimitReached(MAX_NEIGHBOURHOODS);
          // Lapsed verifications make room for the new dong, so a user never holds more than the limit.
          const dropped = held.length >= MAX_NEIGHBOURHOODS ? held.filter((n) => !n.active) : [];
          await neighbourhoods.remove(userId, dropped.map((n) => n.dongCode), t);
          primary = !held.some((n) => n.primary && !dropped.includes(n));
        }
        await neighbourhoods.upsertVerification(userId, dong.code, primary, VERIFICATION_TTL_DAYS, t);
        // Read back inside the transaction: with an Idempotency-Key it commits only after the response is stored.
        const row = (await neighbourhoods.find(userId, dong.code, t))!;
        await recordEvents(
          t,
          userRef(userId),
          [{ type: 'user.neighbourhood_verified', payload: { user_id: userId, dong_code: dong.code, verified_at: row.verifiedAt.toISOString(), expires_at: row.expiresAt.toISOString() } }],
          metadataFrom(ctx),
        );
        return withNeighbours(row, t);
      });
    },

    async list(userId: string): Promise<NeighbourhoodView[]> {
      return Promise.all((await neighbourhoods.list(userId)).map((n) => withNeighbours(n)));
    },

    /** Makes a neighbourhood the primary one and/or changes its range. */
    async update(ctx: RequestContext, userId: string, dongCode: string, changes: { primary?: boolean; range?: NeighbourhoodRange }): Promise<NeighbourhoodView> {
      return inTransaction(sequelize, ctx, async (t) => {
        const held = (await lockNeighbourhoods(userId, t)).held.find((n) => n.dongCode === dongCode);
        if (!held) throw notFound('This dong is not one of your neighbourhoods.');
        if (changes.primary && !held.primary) await neighbourhoods.setPrimary(userId, dongCode, t);
        if (changes.range && changes.range !== held.range) await neighbourhoods.setRange(userId, dongCode, changes.range, t);
        return withNeighbours((await neighbourhoods.find(userId, dongCode, t))!, t);
      });
    },

    /** Removes a neighbourhood (`user.neighbourhood_removed`); the other one becomes primary if this was. */
    async remove(ctx: RequestContext, userId: string, dongCode: string): Promise<void> {
      await inTransaction(sequelize, ctx, async (t) => {
        const { held } = await lockNeighbourhoods(userId, t);
        const target = held.find((n) => n.dongCode === dongCode);
        if (!target) throw notFound('This dong is not one of your neighbourhoods.');
        await neighbourhoods.remove(userId, [dongCode], t);
        const next = held.find((n) => n.dongCode !== dongCode);
        if (target.primary && next) await neighbourhoods.setPrimary(userId, next.dongCode, t);
        await recordEvents(t, userRef(userId), [{ type: 'user.neighbourhood_removed', payload: { user_id: userId, dong_code: dongCode } }], metadataFrom(ctx));
      });
    },
  };
}
export type NeighbourhoodUseCases = ReturnType<typeof neighbourhoodUseCases>;

/**
 * For components that need a verified neighbourhood (posting, chat): the user's active
 * neighbourhood, primary first, or `403 neighbourhood_verification_required`.
 */
export const verifiedNeighbourhoodGuard =
  (neighbourhoods: Pick<NeighbourhoodRepository, 'firstActive'>) =>
  async (userId: string): Promise<UserNeighbourhood> => {
    const active = await neighbourhoods.firstActive(userId);
    if (!active) throw neighbourhoodVerificationRequired();
    return active;
  };
