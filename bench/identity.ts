import { randomBytes } from 'node:crypto';
import { hash, verify, type Options } from '@node-rs/argon2';
import { migrate } from '../src/cli/migrate';
import { startSmtpSimulator } from '../src/integrations/email/smtp-simulator';
import { DURATION, fmt, load, ROUNDS, startServer, summarise, type Stats } from './lib';

// `make bench`, identity part: authenticated GET /v1/users/profile at 200 connections next to a
// bare node:http + pg server doing the same query, and sign-ins per second (argon2id on purpose)
// next to the raw argon2id verifications per second of this machine. Accounts are made through
// the API: register, follow the e-mailed link (SMTP simulator in this process), sign in.

const PROFILE_CONNECTIONS = Number(process.env.BENCH_PROFILE_CONNECTIONS ?? 200);
const LOGIN_CONNECTIONS = Number(process.env.BENCH_LOGIN_CONNECTIONS ?? 8);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 50);
const key = () => randomBytes(32).toString('base64');
const ENV = {
  NODE_ENV: 'production',
  PUBLIC_BASE_URL: 'http://127.0.0.1',
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
  JWT_SECRET: 'bench-secret-0123456789abcdef0123456789abcdef',
  FIELD_ENCRYPTION_KEYS: `bench1:${key()}`,
  BLIND_INDEX_KEY: key(),
  // The load generator speaks for many users, each with its own address.
  TRUST_PROXY: 'loopback',
  RATE_LIMIT_MAX: '1000000',
};
const PASSWORD = 'Bench-pass-2026!';
// The benchmarks' own database (bench/catalog.ts uses it too), never the development one.
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/junggo_bench';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/13';
const ip = (i: number) => `10.77.${(i >> 8) & 255}.${i & 255}`;

async function provision(api: string, mailbox: Awaited<ReturnType<typeof startSmtpSimulator>>) {
  const stamp = Date.now().toString(36);
  const users: { email: string; token: string }[] = [];
  for (let i = 0; i < ACCOUNTS; i++) {
    const email = `bench-${stamp}-${i}@example.com`;
    const headers = { 'content-type': 'application/json', 'x-forwarded-for': ip(i) };
    const reg = await fetch(`${api}/v1/auth/register`, { method: 'POST', headers, body: JSON.stringify({ email, password: PASSWORD, nickname: `b${stamp}${i}`.slice(0, 20) }) });
    if (reg.status !== 202) throw new Error(`register answered ${reg.status}: ${await reg.text()}`);
    const mail = await mailbox.waitFor((m) => m.envelope.to.includes(email), 20_000);
    const token = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail.text ?? '')![1];
    const ok = await fetch(`${api}/v1/auth/verify-email`, { method: 'POST', headers, body: JSON.stringify({ token }) });
    if (ok.status !== 200) throw new Error(`verify-email answered ${ok.status}`);
    const login = await fetch(`${api}/v1/auth/login`, { method: 'POST', headers, body: JSON.stringify({ email, password: PASSWORD }) });
    const session = (await login.json()) as { access_token: string };
    users.push({ email, token: session.access_token });
  }
  return users;
}

/** Raw argon2id verifications per second with the API's parameters, on as many threads as login connections. */
async function argon2PerSecond(): Promise<number> {
  const options: Options = { algorithm: 2 as Options['algorithm'], memoryCost: 19_456, timeCost: 2, parallelism: 1 };
  const stored = await hash(PASSWORD, options);
  let done = 0;
  const until = Date.now() + 5_000;
  await Promise.all(
    Array.from({ length: LOGIN_CONNECTIONS }, async () => {
      while (Date.now() < until) {
        await verify(stored, PASSWORD);
        done++;
      }
    }),
  );
  return done / 5;
}

async function main(): Promise<void> {
  await migrate(DATABASE_URL, REDIS_URL, 'warn');
  const smtp = await startSmtpSimulator({ port: 0 });
  const env = { ...ENV, SMTP_URL: smtp.url, DATABASE_URL, REDIS_URL, QUEUE_PREFIX: 'bench' };
  const api = await startServer('dist/server.js', env);
  const worker = await startServer('dist/worker.js', env, 'WORKER_PORT');
  const bare = await startServer('bench/bare-profile.mjs', env);
  const children = [api.child, worker.child, bare.child];
  try {
    const users = await provision(api.base, smtp);
    let next = 0;
    const rotateToken = (req: Record<string, unknown>) => {
      const user = users[next++ % users.length]!;
      return { ...req, headers: { ...(req.headers as object), authorization: `Bearer ${user.token}`, 'x-forwarded-for': ip(next % 250) } };
    };
    console.log(`\nGET /v1/users/profile: ${users.length} users, ${PROFILE_CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ${DURATION} s`);
    const targets = [
      { name: 'bare node:http + pg', url: `${bare.base}/v1/users/profile`, runs: [] as Stats[] },
      { name: 'junggo API         ', url: `${api.base}/v1/users/profile`, runs: [] as Stats[] },
    ];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const t of targets) {
        t.runs.push(await load({ url: t.url, connections: PROFILE_CONNECTIONS, requests: [{ method: 'GET', setupRequest: rotateToken as never }] }));
        console.log(`round ${round}  ${t.name} ${fmt(t.runs.at(-1)!)}`);
      }
    }
    const [b, a] = targets.map((t) => summarise(t.runs)) as [Stats, Stats];
    console.log(`median  ${targets[0]!.name} ${fmt(b)}`);
    console.log(`median  ${targets[1]!.name} ${fmt(a)}`);
    console.log(`ratio API / bare: ${(a.rps / b.rps).toFixed(2)}`);

    console.log(`\nPOST /v1/auth/login: ${LOGIN_CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION} s (argon2id m=19 MiB, t=2)`);
    let who = 0;
    const rotateLogin = (req: Record<string, unknown>) => {
      const user = users[who++ % users.length]!;
      return { ...req, headers: { 'content-type': 'application/json', 'x-forwarded-for': ip(who % 250) }, body: JSON.stringify({ email: user.email, password: PASSWORD }) };
    };
    const logins: Stats[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      logins.push(await load({ url: `${api.base}/v1/auth/login`, connections: LOGIN_CONNECTIONS, requests: [{ method: 'POST', setupRequest: rotateLogin as never }] }));
      console.log(`round ${round}  logins             ${fmt(logins.at(-1)!)}`);
    }
    console.log(`median  logins             ${fmt(summarise(logins))}`);
    console.log(`argon2id verifications alone, ${LOGIN_CONNECTIONS} at a time: ${(await argon2PerSecond()).toFixed(0)}/s`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await smtp.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
