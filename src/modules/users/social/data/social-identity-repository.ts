import { QueryTypes, UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import type { SocialProviderName } from '../../../../integrations/social';
import type { PersonalDataCipher } from '../../data/personal-data';

export interface LinkedIdentity {
  provider: SocialProviderName;
  subject: string;
  userId: string;
  linkedAt: Date;
}

interface Row {
  provider: SocialProviderName;
  subject: string;
  user_id: string;
  linked_at: Date;
}

/** Why a link could not be stored: the identity is someone's already, or the user has this provider already. */
export type LinkConflict = 'identity_taken' | 'provider_taken';

export type SocialIdentityRepository = ReturnType<typeof createSocialIdentityRepository>;

/** Linked social identities in PostgreSQL (table social_identities, migration 0008). */
export function createSocialIdentityRepository(sequelize: Sequelize, cipher: PersonalDataCipher) {
  const toIdentity = (r: Row): LinkedIdentity => ({ provider: r.provider, subject: r.subject, userId: r.user_id, linkedAt: r.linked_at });

  return {
    async find(provider: SocialProviderName, subject: string, transaction?: Transaction): Promise<LinkedIdentity | null> {
      const rows = await sequelize.query<Row>(`SELECT provider, subject, user_id, linked_at FROM social_identities WHERE provider = $1 AND subject = $2`, {
        bind: [provider, subject],
        type: QueryTypes.SELECT,
        transaction,
      });
      return rows[0] ? toIdentity(rows[0]) : null;
    },

    async hasProvider(userId: string, provider: SocialProviderName): Promise<boolean> {
      const rows = await sequelize.query(`SELECT 1 FROM social_identities WHERE user_id = $1 AND provider = $2`, { bind: [userId, provider], type: QueryTypes.SELECT });
      return rows.length > 0;
    },

    /**
     * Links in the caller's transaction (a savepoint, so a conflict leaves it usable). The unique
     * keys decide races: two accounts claiming one identity, or two identities of one provider.
     */
    async link(identity: { provider: SocialProviderName; subject: string; userId: string; email?: string | undefined }, transaction: Transaction): Promise<LinkConflict | null> {
      const emailEnc = identity.email ? cipher.encrypt(identity.email, `social.email:${identity.provider}:${identity.subject}`) : null;
      try {
        await sequelize.transaction({ transaction }, (savepoint) =>
          sequelize.query(`INSERT INTO social_identities (provider, subject, user_id, email_enc, last_login_at) VALUES ($1, $2, $3, $4, now())`, {
            bind: [identity.provider, identity.subject, identity.userId, emailEnc],
            transaction: savepoint,
          }),
        );
        return null;
      } catch (err) {
        if (!(err instanceof UniqueConstraintError)) throw err;
        const constraint = (err.parent as { constraint?: string } | undefined)?.constraint;
        return constraint === 'social_identities_user_provider' ? 'provider_taken' : 'identity_taken';
      }
    },

    async touch(provider: SocialProviderName, subject: string): Promise<void> {
      await sequelize.query(`UPDATE social_identities SET last_login_at = now() WHERE provider = $1 AND subject = $2`, { bind: [provider, subject] });
    },
  };
}
