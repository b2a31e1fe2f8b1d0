import { randomInt, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SmtpSimulator } from '../../src/integrations/email/smtp-simulator';
import { completeVerification, type SimulatedPerson } from '../../src/integrations/identity';
import type { SmsSimulator } from '../../src/integrations/sms';
import type { KakaoSimulator, SimulatedKakaoUser } from '../../src/integrations/social';
import { followRedirects, type GoogleSimulator, type SimulatedGoogleUser } from '../../src/integrations/social/google-simulator';

/**
 * The outside world of the black-box runs, over HTTP: what a person would read on a phone or in a
 * mailbox, and what they would do in a provider's window. The suites (newman scripts, the e2e
 * scenarios through Prism) run in other processes than the simulators, so this is their only way
 * to follow an e-mailed link, type an SMS code or finish a Google/Kakao/NICE window.
 * scripts/start-test-app.ts starts it next to the app; loopback only.
 *
 *   GET  /mail?to=&category=&index=0      the index-th message to `to` (waits up to 15 s):
 *                                         { subject, category, text, token } (token: the link's ?token=)
 *   GET  /sms?to=&index=0                 the index-th SMS to the number (any of 010-1234-5678,
 *                                         01012345678, +821012345678): { content, code }
 *   POST /social/{google|kakao}/walk      { authorization_url, user? } -> the browser leg: the next
 *                                         login is `user` (a new, verified person by default) and
 *                                         the answer is the callback page's query { params, user }
 *   POST /nice/complete                   { auth_url, person? } -> the window finished as `person`
 *                                         (a new adult by default): { returned, person }
 */
export interface Sandbox {
  url: string;
  stop(): Promise<void>;
}

export interface SandboxDeps {
  smtp: SmtpSimulator;
  sms: SmsSimulator;
  google: GoogleSimulator;
  kakao: KakaoSimulator;
  /** The callback page each provider sends the browser back to (`<base>/<provider>/callback`). */
  callbackOf: (provider: 'google' | 'kakao') => string;
}

const WAIT_MS = 15_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const national = (phone: string) => (phone.startsWith('+82') ? `0${phone.slice(3)}` : phone).replace(/-/g, '');

/** A Google account nobody has used yet. */
export const newGoogleUser = (): SimulatedGoogleUser => {
  const id = randomUUID();
  return { subject: `g-${id}`, email: `g-${id.slice(0, 8)}@gmail.test`, emailVerified: true, name: '김구글' };
};

/** A Kakao member nobody has used yet (member numbers are positive safe integers). */
export const newKakaoUser = (): SimulatedKakaoUser => {
  const id = 5_000_000_000 + randomInt(1, 2 ** 47);
  return { id, email: `k-${id}@kakao.test`, emailValid: true, emailVerified: true, nickname: '카카오주민' };
};

/** An adult whose phone number (and so CI) no account holds yet. */
export const newPerson = (): SimulatedPerson => ({
  name: '김민지',
  birthDate: '19950314',
  gender: 'female',
  mobileCarrier: 'KT',
  phone: `010${String(randomInt(10_000_000, 99_999_999))}`,
});

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
}

const required = (value: unknown, name: string): string => {
  if (typeof value !== 'string' || value === '') throw new HttpError(400, `${name} is required`);
  return value;
};

/** Waits for the index-th item `list()` holds that matches, polling (the simulators' waitFor wants a predicate on one item). */
async function nth<T>(list: () => T[], match: (item: T) => boolean, index: number, what: string): Promise<T> {
  const until = Date.now() + WAIT_MS;
  for (;;) {
    const found = list().filter(match)[index];
    if (found) return found;
    if (Date.now() > until) throw new HttpError(404, `no ${what} within ${WAIT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startSandbox(deps: SandboxDeps, port = 0, host = '127.0.0.1'): Promise<Sandbox> {
  const routes: Record<string, (url: URL, req: IncomingMessage) => Promise<object>> = {
    'GET /mail': async (url) => {
      const to = required(url.searchParams.get('to'), 'to').toLowerCase();
      const category = url.searchParams.get('category');
      const mail = await nth(
        () => deps.smtp.messages(),
        (m) => m.envelope.to.some((a) => a.toLowerCase() === to) && (!category || m.category === category),
        Number(url.searchParams.get('index') ?? 0),
        `mail to ${to}${category ? ` (${category})` : ''}`,
      );
      const token = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail.text ?? '')?.[1] ?? null;
      return { subject: mail.subject, category: mail.category, text: mail.text, token };
    },
    'GET /sms': async (url) => {
      const to = national(required(url.searchParams.get('to'), 'to'));
      const sms = await nth(() => deps.sms.messages(), (m) => m.to === to, Number(url.searchParams.get('index') ?? 0), `SMS to ${to}`);
      return { content: sms.content, code: /\[(\d{6})\]/.exec(sms.content)?.[1] ?? null };
    },
    'POST /social/google/walk': async (_url, req) => {
      const body = await readJson(req);
      const user = (body.user as SimulatedGoogleUser | undefined) ?? newGoogleUser();
      deps.google.setNextUser(user);
      const { params } = await followRedirects(required(body.authorization_url, 'authorization_url'), deps.callbackOf('google'));
      return { params: Object.fromEntries(params), user };
    },
    'POST /social/kakao/walk': async (_url, req) => {
      const body = await readJson(req);
      const user = (body.user as SimulatedKakaoUser | undefined) ?? newKakaoUser();
      deps.kakao.setNextUser(user);
      const { params } = await followRedirects(required(body.authorization_url, 'authorization_url'), deps.callbackOf('kakao'));
      return { params: Object.fromEntries(params), user };
    },
    'POST /nice/complete': async (_url, req) => {
      const body = await readJson(req);
      const person = (body.person as SimulatedPerson | undefined) ?? newPerson();
      const { returned } = await completeVerification(required(body.auth_url, 'auth_url'), person);
      return { returned, person };
    },
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const route = routes[`${req.method} ${url.pathname}`];
    const reply = (status: number, body: object) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (!route) return void reply(404, { error: `no route ${req.method} ${url.pathname}` });
    route(url, req).then(
      (body) => reply(200, body),
      (err: unknown) => reply(err instanceof HttpError ? err.status : 502, { error: (err as Error).message }),
    );
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve()));
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
