import { createHash, timingSafeEqual } from 'node:crypto';
import { UniqueConstraintError } from 'sequelize';
import { createLoginAttempt, SocialLoginError, type SocialIdentity, type SocialProvider, type SocialProviderName } from '../../../../integrations/social';
import type { RequestContext } from '../../../../platform/context';
import { inTransaction } from '../../../../platform/db/transaction';
import { metadataFrom } from '../../../../platform/events/event-store';
import { EMAIL_INDEX, NICKNAME_INDEX } from '../../data/user-repository';
import { registeredPayload } from '../../domain/accounts';
import type { UsersDeps } from '../../domain/deps';
import { newId } from '../../domain/ids';
import type { SignInResult } from '../../domain/sessions';
import type { User } from '../../domain/user';
import type { UsersService } from '../../service';
import { ATTEMPT_TTL_SECONDS, LINK_TTL_SECONDS, type PendingLogins } from '../data/pending-logins';
import type { SocialIdentityRepository } from '../data/social-identity-repository';
import { candidateNickname } from './nickname';
import {
  invalidLinkToken,
  invalidState,
  passwordNotSet,
  providerAlreadyLinked,
  providerUnavailable,
  redirectUriNotAllowed,
  socialAccountTaken,
  socialEmailUnverified,
  socialLoginCancelled,
  socialLoginFailed,
} from './problems';

export interface SocialDeps {
  providers: Record<SocialProviderName, SocialProvider>;
  /** Callback page bases; a provider's redirect URI is `${base}/${provider}/callback`. The first is the default. */
  redirectBases: readonly string[];
  identities: SocialIdentityRepository;
  pending: PendingLogins;
  core: Pick<UsersDeps, 'sequelize' | 'users' | 'recordEvents'>;
  sessions: Pick<UsersService['sessions'], 'signIn' | 'assertMaySignIn' | 'checkPassword'>;
}

/** The existing account the person must confirm before their social identity is linked to it. */
export interface LinkRequired {
  kind: 'link_required';
  provider: SocialProviderName;
  email: string;
  linkToken: string;
  confirmWith: 'password' | 'password_reset';
  expiresAt: Date;
}

export type SocialLoginResult = SignInResult | LinkRequired;

/** The callback's parameters as the provider sent them to the redirect URI. */
export interface SocialCallback {
  provider: SocialProviderName;
  state: string;
  clientVerifier: string;
  params: Record<string, string | undefined>;
  deviceName?: string | undefined;
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
const sameSecret = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
const NICKNAME_TRIES = 5;

/** Lost a race to a concurrent sign-in of the same person: resolve the identity again. */
class RaceLost extends Error {}

export function socialLoginUseCases(deps: SocialDeps) {
  const { providers, identities, pending, core, sessions } = deps;
  const { sequelize, users, recordEvents } = core;
  const userRef = (id: string) => ({ type: 'user', id });

  /** The provider's failure as a problem; a misconfigured client is ours to fix, so it stays a 500. */
  function asProblem(ctx: RequestContext, err: unknown): unknown {
    if (!(err instanceof SocialLoginError) || err.code === 'invalid_client') return err;
    const logged = { provider: err.provider, social_code: err.code, provider_status: err.status, provider_code: err.providerCode, reason: err.message };
    if (err.code === 'provider_unavailable') {
      ctx.log.warn(logged, 'identity provider unavailable');
      return providerUnavailable(err.provider);
    }
    if (err.code === 'access_denied') return socialLoginCancelled(err.provider);
    ctx.log.warn(logged, 'social sign-in refused');
    return socialLoginFailed(err.provider);
  }

  function redirectUriFor(provider: SocialProviderName, requested: string | undefined): string {
    const allowed = deps.redirectBases.map((base) => `${base.replace(/\/+$/, '')}/${provider}/callback`);
    if (requested === undefined) return allowed[0]!;
    if (!allowed.includes(requested)) throw redirectUriNotAllowed();
    return requested;
  }

  async function pickNickname(name: string | undefined): Promise<string> {
    let nickname = candidateNickname(name);
    for (let i = 1; i < NICKNAME_TRIES && (await users.isNicknameTaken(nickname)); i++) nickname = candidateNickname(i < 3 ? name : undefined);
    return nickname;
  }

  /** A new account owned by the identity: verified address (the provider vouched for it), no password. */
  async function createAccount(ctx: RequestContext, identity: SocialIdentity & { email: string }): Promise<User> {
    for (let attempt = 1; ; attempt++) {
      const nickname = await pickNickname(identity.name);
      try {
        return await inTransaction(sequelize, ctx, async (t) => {
          const inserted = await users.insert({ id: newId('usr'), email: identity.email, passwordHash: null, nickname, phone: null }, t);
          const user = await users.markEmailVerified(inserted.id, t);
          if (await identities.link({ provider: identity.provider, subject: identity.subject, userId: user.id, email: identity.email }, t)) throw new RaceLost();
          await recordEvents(
            t,
            userRef(user.id),
            [
              { type: 'user.registered', payload: { ...registeredPayload(user), method: 'social', provider: identity.provider } },
              { type: 'user.email_verified', payload: { user_id: user.id, via: identity.provider } },
              { type: 'user.social_linked', payload: { user_id: user.id, provider: identity.provider } },
            ],
            metadataFrom(ctx),
          );
          return user;
        });
      } catch (err) {
        const constraint = err instanceof UniqueConstraintError ? (err.parent as { constraint?: string } | undefined)?.constraint : undefined;
        if (constraint === NICKNAME_INDEX && attempt < NICKNAME_TRIES) continue;
        // The same address registered meanwhile (by password or by this person in another tab).
        if (constraint === EMAIL_INDEX) throw new RaceLost();
        throw err;
      }
    }
  }

  /** What a proven identity leads to: its account, a new account, or a link to confirm. */
  async function resolve(ctx: RequestContext, identity: SocialIdentity, deviceName: string | undefined, retried = false): Promise<SocialLoginResult> {
    const linked = await identities.find(identity.provider, identity.subject);
    if (linked) {
      const user = (await users.findById(linked.userId))!;
      sessions.assertMaySignIn(user);
      await identities.touch(identity.provider, identity.subject);
      return sessions.signIn(ctx, user, identity.provider, deviceName);
    }
    // Only an address the provider vouches for may find or make an account: anyone can type one into a profile.
    if (!identity.emailVerified || !identity.email) throw socialEmailUnverified(identity.provider);
    const verified = { ...identity, email: identity.email };

    const existing = await users.findByEmail(verified.email);
    if (existing) {
      if (await identities.hasProvider(existing.id, identity.provider)) throw providerAlreadyLinked(identity.provider);
      const linkToken = await pending.saveLink({ identity: verified, userId: existing.id });
      return {
        kind: 'link_required',
        provider: identity.provider,
        email: existing.email,
        linkToken,
        confirmWith: existing.passwordHash ? 'password' : 'password_reset',
        expiresAt: new Date(Date.now() + LINK_TTL_SECONDS * 1000),
      };
    }
    try {
      const user = await createAccount(ctx, verified);
      return await sessions.signIn(ctx, user, identity.provider, deviceName);
    } catch (err) {
      if (err instanceof RaceLost && !retried) return resolve(ctx, identity, deviceName, true);
      throw err;
    }
  }

  return {
    /** Starts a sign-in: keeps the attempt (state, nonce, PKCE verifier) for 10 minutes and returns where to send the browser. */
    async start(ctx: RequestContext, provider: SocialProviderName, input: { clientChallenge: string; redirectUri?: string | undefined }) {
      const redirectUri = redirectUriFor(provider, input.redirectUri);
      const attempt = createLoginAttempt();
      let authorizationUrl: string;
      try {
        authorizationUrl = await providers[provider].authorizationUrl({ state: attempt.state, nonce: attempt.nonce, codeChallenge: attempt.codeChallenge, redirectUri });
      } catch (err) {
        throw asProblem(ctx, err);
      }
      await pending.saveAttempt(attempt.state, { provider, nonce: attempt.nonce, codeVerifier: attempt.codeVerifier, redirectUri, clientChallenge: input.clientChallenge });
      return { authorizationUrl, expiresAt: new Date(Date.now() + ATTEMPT_TTL_SECONDS * 1000) };
    },

    /**
     * Completes a sign-in from the provider's callback: spends the state, redeems the code, then
     * signs in the linked account, creates one, or asks the matching account to confirm a link.
     */
    async complete(ctx: RequestContext, callback: SocialCallback): Promise<SocialLoginResult> {
      // Spent whatever follows: a state is good for one try, like the code it travels with.
      const attempt = await pending.takeAttempt(callback.state);
      if (!attempt || attempt.provider !== callback.provider || !sameSecret(s256(callback.clientVerifier), attempt.clientChallenge)) throw invalidState();
      let identity: SocialIdentity;
      try {
        identity = await providers[attempt.provider].exchangeCode({
          callback: { ...callback.params, state: callback.state },
          expectedState: callback.state,
          nonce: attempt.nonce,
          codeVerifier: attempt.codeVerifier,
          redirectUri: attempt.redirectUri,
        });
      } catch (err) {
        throw asProblem(ctx, err);
      }
      return resolve(ctx, identity, callback.deviceName);
    },

    /**
     * Links a pending identity to the existing account once its owner proves the password (under
     * the sign-in's limits and lock), then signs that account in.
     */
    async confirmLink(ctx: RequestContext, input: { linkToken: string; password: string; deviceName?: string | undefined }): Promise<SignInResult> {
      const link = await pending.peekLink(input.linkToken);
      const target = link && (await users.findById(link.userId));
      if (!link || !target) throw invalidLinkToken();
      if (!target.passwordHash) throw passwordNotSet();
      const user = await sessions.checkPassword(ctx, target.email, input.password);
      if (user.id !== target.id || !(await pending.spendLink(input.linkToken))) throw invalidLinkToken();

      const { provider, subject, email } = link.identity;
      await inTransaction(sequelize, ctx, async (t) => {
        const conflict = await identities.link({ provider, subject, userId: user.id, email }, t);
        if (conflict === 'identity_taken') throw socialAccountTaken(provider);
        if (conflict === 'provider_taken') throw providerAlreadyLinked(provider);
        await recordEvents(t, userRef(user.id), [{ type: 'user.social_linked', payload: { user_id: user.id, provider } }], metadataFrom(ctx));
      });
      return sessions.signIn(ctx, user, provider, input.deviceName);
    },
  };
}

export type SocialLoginService = ReturnType<typeof socialLoginUseCases>;
