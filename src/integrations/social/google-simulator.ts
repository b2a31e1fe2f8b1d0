import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenSimulator } from '../simulator-server';
import Provider, { type Adapter, type AdapterPayload, type Configuration } from 'oidc-provider';
import type { Logger } from '../../platform/logger';

/** The client `make start` and the config defaults share with the simulator. Never real credentials. */
export const GOOGLE_SIMULATOR_DEFAULTS = {
  clientId: 'junggo-local.apps.googleusercontent.test',
  clientSecret: 'local-google-client-secret',
  redirectUris: ['http://localhost:3000/v1/auth/social/google/callback'],
} as const;

/** The account the next login completes as; what Google would know about the person. */
export interface SimulatedGoogleUser {
  subject: string;
  email?: string;
  emailVerified?: boolean;
  name?: string;
}

export interface GoogleSimulatorOptions {
  /** 0 for an ephemeral port (tests). */
  port?: number;
  host?: string;
  clientId?: string;
  clientSecret?: string;
  redirectUris?: readonly string[];
  /** Who logs in until setNextUser says otherwise. */
  user?: SimulatedGoogleUser;
  /** Logs each completed login and token request. */
  log?: Logger;
}

export interface SimulatedRequest {
  method: string;
  path: string;
  status: number;
}

export interface GoogleSimulator {
  /** The issuer, e.g. `http://127.0.0.1:41234`: what GOOGLE_ISSUER points at. */
  url: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUris: readonly string[];
  /** Every later login completes as this account, without a login page. */
  setNextUser(user: SimulatedGoogleUser): void;
  /** The next login is declined, as when the person closes Google's consent screen. */
  denyNext(): void;
  /** Every request with the status it got. */
  requests(): SimulatedRequest[];
  /** The next `count` token requests fail with `status` (503 by default) and an HTML page, as a proxy in front of Google would. */
  failNext(count: number, status?: number): void;
  /** While on, the JWKS endpoint publishes, under the signing key's kid, a key that did not sign the ID tokens. */
  publishForeignKeys(on?: boolean): void;
  stop(): Promise<void>;
}

const DEFAULT_USER: SimulatedGoogleUser = { subject: '100000000000000000001', email: 'dev@junggo.test', emailVerified: true, name: '김중고' };

/**
 * A real OpenID Provider (panva's oidc-provider, the certified one) on loopback standing in for
 * Google: discovery, authorization code flow with PKCE S256, client_secret_post, RS256 ID tokens
 * carrying `email`, `email_verified` and `name` as Google's do, JWKS, userinfo.
 *
 * The one thing it fakes is the person: its login and consent pages finish at once as the
 * "next user", so a test (or `followRedirects`) walks the flow without a browser.
 */
export async function startGoogleSimulator(options: GoogleSimulatorOptions = {}): Promise<GoogleSimulator> {
  const host = options.host ?? '127.0.0.1';
  const client = {
    clientId: options.clientId ?? GOOGLE_SIMULATOR_DEFAULTS.clientId,
    clientSecret: options.clientSecret ?? GOOGLE_SIMULATOR_DEFAULTS.clientSecret,
    redirectUris: [...(options.redirectUris ?? GOOGLE_SIMULATOR_DEFAULTS.redirectUris)],
  };
  let nextUser = options.user ?? DEFAULT_USER;
  const accounts = new Map<string, SimulatedGoogleUser>();
  const log: SimulatedRequest[] = [];
  let failures = { remaining: 0, status: 503 };
  let foreignKeys = false;
  let denials = 0;

  // The issuer holds the port, and the port is only known once listening: listen first, then build.
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    res.once('finish', () => log.push({ method: req.method ?? '', path: (req.url ?? '/').split('?')[0]!, status: res.statusCode }));
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  const { url: issuer, stop } = await listenSimulator(server, options.port, host);

  const signingKey = signingJwk();
  const provider = new Provider(issuer, configuration(client, signingKey, (id) => accounts.get(id)));
  const oidc = provider.callback();
  // Same kid and alg, another key: the client finds "the" key and the signature must fail on it.
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...foreignPublic } = { ...signingJwk(), kid: signingKey.kid };
  const foreignJwks = JSON.stringify({ keys: [foreignPublic] });

  const completeInteraction = async (req: IncomingMessage, res: ServerResponse) => {
    const details = await provider.interactionDetails(req, res);
    if (denials > 0) {
      denials--;
      await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false });
      return;
    }
    const user = nextUser;
    accounts.set(user.subject, user);
    // Login and consent in one go; the grant holds exactly the scopes the client asked for.
    const grant = new provider.Grant({ accountId: user.subject, clientId: String(details.params.client_id) });
    grant.addOIDCScope(String(details.params.scope ?? 'openid'));
    const grantId = await grant.save();
    options.log?.info({ subject: user.subject, email: user.email, client_id: details.params.client_id }, 'google simulator: login completed');
    await provider.interactionFinished(req, res, { login: { accountId: user.subject }, consent: { grantId } }, { mergeWithLastSubmission: false });
  };

  handler = (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/token' && req.method === 'POST' && failures.remaining > 0) {
      failures.remaining--;
      req.resume();
      res.writeHead(failures.status, { 'Content-Type': 'text/html; charset=UTF-8' }).end(`<html><body><h1>${failures.status}</h1>Simulated failure.</body></html>`);
      return;
    }
    if (path === '/jwks' && foreignKeys) {
      res.writeHead(200, { 'Content-Type': 'application/jwk-set+json; charset=utf-8' }).end(foreignJwks);
      return;
    }
    if (path.startsWith('/interaction/')) {
      completeInteraction(req, res).catch((err: unknown) => {
        options.log?.error({ err }, 'google simulator: interaction failed');
        if (!res.headersSent) res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`interaction failed: ${(err as Error).message}`);
      });
      return;
    }
    oidc(req, res);
  };

  return {
    url: issuer,
    issuer,
    ...client,
    setNextUser(user) {
      nextUser = user;
    },
    denyNext() {
      denials++;
    },
    requests: () => [...log],
    failNext(count, status = 503) {
      failures = { remaining: count, status };
    },
    publishForeignKeys(on = true) {
      foreignKeys = on;
    },
    stop,
  };
}

function configuration(
  client: { clientId: string; clientSecret: string; redirectUris: string[] },
  signingKey: ReturnType<typeof signingJwk>,
  findUser: (id: string) => SimulatedGoogleUser | undefined,
): Configuration {
  return {
    clients: [
      {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uris: client.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    adapter: memoryAdapter(),
    jwks: { keys: [signingKey] },
    // Random per start: the simulator forgets its sessions on restart anyway.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    responseTypes: ['code'],
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // Google puts the scope's claims in the ID token itself, which is all our client reads.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    // Google's lifetimes where it publishes them (1 h tokens); short ones for the rest. Setting
    // them also keeps oidc-provider's notices off stdout, which the CLI keeps for JSON logs.
    ttl: { AccessToken: 3_600, IdToken: 3_600, AuthorizationCode: 60, Interaction: 600, Session: 3_600, Grant: 3_600 },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, id) {
      const user = findUser(id);
      if (!user) return undefined;
      return {
        accountId: id,
        claims: () => ({
          sub: id,
          ...(user.email === undefined ? {} : { email: user.email, email_verified: user.emailVerified ?? false }),
          ...(user.name === undefined ? {} : { name: user.name }),
        }),
      };
    },
  };
}

/**
 * Codes, sessions and grants in a Map of this simulator's own. oidc-provider's built-in store is
 * one per process (shared by every simulator a test file starts) and warns on each start.
 */
function memoryAdapter(): (name: string) => Adapter {
  const store = new Map<string, { payload: AdapterPayload; expiresAt: number }>();
  const grants = new Map<string, Set<string>>();
  const live = (key: string) => {
    const entry = store.get(key);
    if (entry && entry.expiresAt < Date.now()) store.delete(key);
    return entry && entry.expiresAt >= Date.now() ? entry.payload : undefined;
  };
  return (name) => ({
    async upsert(id, payload, expiresIn) {
      const key = `${name}:${id}`;
      store.set(key, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY });
      if (payload.grantId) grants.set(payload.grantId, (grants.get(payload.grantId) ?? new Set()).add(key));
      if (payload.uid) store.set(`${name}:uid:${payload.uid}`, { payload: { id } as AdapterPayload, expiresAt: store.get(key)!.expiresAt });
    },
    find: async (id) => live(`${name}:${id}`),
    findByUid: async (uid) => {
      const pointer = live(`${name}:uid:${uid}`);
      return pointer ? live(`${name}:${String(pointer.id)}`) : undefined;
    },
    findByUserCode: async () => undefined,
    async consume(id) {
      const payload = live(`${name}:${id}`);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    },
    async destroy(id) {
      store.delete(`${name}:${id}`);
    },
    async revokeByGrantId(grantId) {
      for (const key of grants.get(grantId) ?? []) store.delete(key);
      grants.delete(grantId);
    },
  });
}

/** A fresh RS256 signing key, as a private JWK with a kid (Google rotates its keys; so may we). */
function signingJwk() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };
}

/** Where a browser walk ended: the redirect back to the client, with its query. */
export interface BrowserWalkResult {
  callbackUrl: URL;
  /** The callback's query, ready for SocialProvider.exchangeCode's `callback`. */
  params: URLSearchParams;
}

/**
 * Plays the browser: GETs `authorizationUrl`, follows every redirect (carrying the cookies each
 * host sets; paths are ignored, which these flows do not mind) and stops at the first one pointing at `redirectUri`. Works
 * against both simulators, whose login pages complete by themselves.
 */
export async function followRedirects(authorizationUrl: string, redirectUri: string, maxHops = 10): Promise<BrowserWalkResult> {
  const jar = new Map<string, Map<string, string>>();
  let url = new URL(authorizationUrl);
  for (let hop = 0; hop < maxHops; hop++) {
    const cookies = jar.get(url.host);
    const response = await fetch(url, {
      redirect: 'manual',
      headers: cookies?.size ? { Cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {},
    });
    storeCookies(jar, url.host, response.headers.getSetCookie());
    const location = response.headers.get('location');
    const body = await response.text();
    if (response.status < 300 || response.status >= 400 || !location) {
      throw new Error(`browser walk stopped at ${url.origin}${url.pathname} with ${response.status}: ${body.slice(0, 300)}`);
    }
    url = new URL(location, url);
    if (`${url.origin}${url.pathname}` === redirectUri) return { callbackUrl: url, params: url.searchParams };
  }
  throw new Error(`browser walk did not reach ${redirectUri} within ${maxHops} redirects`);
}

function storeCookies(jar: Map<string, Map<string, string>>, host: string, setCookies: string[]) {
  const cookies = jar.get(host) ?? new Map<string, string>();
  for (const line of setCookies) {
    const [pair = '', ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq < 1) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now()));
    if (expired || value === '') cookies.delete(name);
    else cookies.set(name, value);
  }
  jar.set(host, cookies);
}
