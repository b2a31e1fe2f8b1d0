import { z } from 'zod';
import { decodeKey, parseKeyRing } from './platform/crypto/field-cipher';

// The one place that reads process.env. Every variable is documented, with its default, in
// .env.example; a missing or malformed one stops the process with a message naming it.

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const list = z.string().transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));
const port = z.coerce.number().int().min(0).max(65535);
const url = (protocols: string[]) =>
  z.string().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `must be a URL (${protocols.join(' or ')})`);

const parses = (parse: (v: string) => unknown) => (v: string, ctx: z.RefinementCtx) => {
  try {
    parse(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
};

// Development defaults for the personal-data keys. Never valid in production (checked below).
const DEV_FIELD_KEYS = 'dev1:ZGV2LW9ubHktZmllbGQta2V5LTAxMjM0NTY3ODlhYmM=';
const DEV_INDEX_KEY = 'ZGV2LW9ubHktaW5kZXgta2V5LTAxMjM0NTY3ODlhYmM=';

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  PUBLIC_BASE_URL: url(['http:', 'https:']).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/junggo'),
  DATABASE_REPLICA_URL: url(['postgres:', 'postgresql:']).optional(),
  // At least 2: a request running in its Idempotency-Key transaction holds one connection while its
  // reads before any lock take another (platform/http/idempotency.ts, Slots), so 1 would deadlock it.
  DATABASE_POOL_MAX: z.coerce.number().int().min(2).max(100).default(4),
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379/0'),
  RABBITMQ_URL: url(['amqp:', 'amqps:']).default('amqp://guest:guest@127.0.0.1:5672'),
  CORS_ORIGINS: list.default(['http://localhost:3000', 'http://127.0.0.1:3000']),
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((v): boolean | number | string => (v === 'true' ? true : v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v)),
  BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/i, 'must look like 100kb').default('100kb'),
  RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86400).default(60),
  RATE_LIMIT_MAX: z.coerce.number().int().min(1).max(1_000_000).default(100),
  /** Photo upload requests per seller in 10 minutes (photos.ts, PHOTO_UPLOAD_POLICY). */
  PHOTO_UPLOAD_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(30),
  VALIDATE_RESPONSES: bool.optional(),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').default('dev-only-secret-change-me-0123456789abcdef'),
  JWT_ISSUER: z.string().min(1).default('junggo'),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(86400).default(3600),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(90).default(7),
  FIELD_ENCRYPTION_KEYS: z.string().default(DEV_FIELD_KEYS).superRefine(parses(parseKeyRing)),
  BLIND_INDEX_KEY: z.string().default(DEV_INDEX_KEY).superRefine(parses((v) => decodeKey(v, 'BLIND_INDEX_KEY'))),
  WEB_APP_URL: url(['http:', 'https:']).default('http://localhost:3000'),
  SMTP_URL: url(['smtp:', 'smtps:']).default('smtp://127.0.0.1:1025'),
  MAIL_FROM: z.string().min(3).default('Junggo <no-reply@junggo.localhost>'),
  SMTP_REQUIRE_TLS: bool.default(false),
  SMS_PROVIDER_URL: url(['http:', 'https:']).default('http://127.0.0.1:4030'),
  SMS_ACCESS_KEY: z.string().min(1).default('local-sens-access-key'),
  SMS_SECRET_KEY: z.string().min(1).default('local-sens-secret-key'),
  SMS_SERVICE_ID: z.string().min(1).default('ncp:sms:kr:000000000000:junggo-local'),
  SMS_SENDER: z.string().regex(/^\d{8,11}$/, 'must be the digits of a registered calling number').default('0212345678'),
  // Social sign-in. The defaults are the local simulators' (src/integrations/social/simulator-cli.ts,
  // *_SIMULATOR_DEFAULTS there); never real credentials.
  GOOGLE_ISSUER: url(['http:', 'https:']).default('http://127.0.0.1:4040'),
  GOOGLE_CLIENT_ID: z.string().min(1).default('junggo-local.apps.googleusercontent.test'),
  GOOGLE_CLIENT_SECRET: z.string().min(1).default('local-google-client-secret'),
  KAKAO_AUTH_URL: url(['http:', 'https:']).default('http://127.0.0.1:4041'),
  KAKAO_API_URL: url(['http:', 'https:']).default('http://127.0.0.1:4041'),
  KAKAO_CLIENT_ID: z.string().min(1).default('local-kakao-rest-api-key'),
  KAKAO_CLIENT_SECRET: z.string().min(1).default('local-kakao-client-secret'),
  // Callback page bases, the first the default; each provider's redirect URI is `<base>/<provider>/callback`
  // and must be registered with it. Clients may pick only among these (no open redirect).
  SOCIAL_REDIRECT_URIS: list
    .default(['http://localhost:3000/v1/auth/social'])
    .refine((bases) => bases.length > 0 && bases.every((b) => /^https?:\/\/[^?#\s]+$/.test(b)), 'must be http(s) URLs without a query or fragment'),
  // Identity verification (NICE 본인확인). The defaults are the local simulator's
  // (src/integrations/identity/simulator-cli.ts --port 4050, NICE_SIMULATOR_DEFAULTS); never real credentials.
  NICE_API_URL: url(['http:', 'https:']).default('http://127.0.0.1:4050'),
  NICE_WINDOW_URL: url(['http:', 'https:']).default('http://127.0.0.1:4050'),
  NICE_CLIENT_ID: z.string().min(1).default('local-nice-client-id'),
  NICE_CLIENT_SECRET: z.string().min(1).default('local-nice-client-secret'),
  NICE_PRODUCT_ID: z.string().min(1).default('2101979031'),
  // Namespaces the Bull queues in Redis: deployments (or test runs) sharing one Redis keep apart.
  QUEUE_PREFIX: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be lower-case letters, digits and -').default('junggo'),
  // Search (docs/search.md): Elasticsearch (with the analysis-nori plugin) when set, else PostgreSQL.
  ELASTICSEARCH_URL: url(['http:', 'https:']).optional(),
  ELASTICSEARCH_INDEX: z.string().regex(/^[a-z][a-z0-9_-]{0,100}$/, 'must be a lower-case index alias').default('junggo-listings'),
  SEARCH_FEED_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  // Listing detail cache: edits clear it at once; the TTL only bounds batched counters (views).
  PRODUCT_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(86400).default(60),
  // Engagement (docs/recommendations.md): how often the worker moves counted views from Redis to
  // products.view_count, and how often it recomputes item similarity for items with new activity.
  ENGAGEMENT_VIEW_FLUSH_INTERVAL_MS: z.coerce.number().int().min(500).max(3_600_000).default(10_000),
  ENGAGEMENT_SIMILARITY_INTERVAL_MS: z.coerce.number().int().min(500).max(86_400_000).default(60_000),
  // Listing photos (docs/photos.md): local disk under STORAGE_DIR, or an S3-compatible bucket
  // when S3_BUCKET is set (credentials from the SDK's default chain unless both keys are given).
  // Photo URLs start with MEDIA_BASE_URL (a CDN in front of the storage), by default the API's
  // own /media route at PUBLIC_BASE_URL.
  STORAGE_DIR: z.string().min(1).default('./var/uploads'),
  MEDIA_BASE_URL: url(['http:', 'https:']).optional(),
  S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name').optional(),
  S3_ENDPOINT: url(['http:', 'https:']).optional(),
  S3_REGION: z.string().min(1).default('ap-northeast-2'),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: bool.default(false),
  WORKER_PORT: port.default(3001),
  MONGODB_URL: url(['mongodb:', 'mongodb+srv:']).optional(),
  OUTBOX_LAG_DEGRADED_SECONDS: z.coerce.number().int().min(1).max(86400).default(30),
  CATEGORY_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(86400).default(3600),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
});

export type Config = z.output<typeof schema> & { validateResponses: boolean };

export class ConfigError extends Error {}

/** Parses an environment (process.env by default) into the typed config, or throws naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  if (c.NODE_ENV === 'production') {
    const defaults: string[] = (['JWT_SECRET', 'FIELD_ENCRYPTION_KEYS', 'BLIND_INDEX_KEY'] as const).filter((k) => c[k] === schema.shape[k].parse(undefined));
    // Without it photo URLs (which the worker writes into listings' events, for good) would name
    // the process's own host and port: unreachable for buyers, and an internal address made public.
    if (!c.PUBLIC_BASE_URL) defaults.push('PUBLIC_BASE_URL');
    if (defaults.length) throw new ConfigError(`Invalid configuration:\n${defaults.map((k) => `  ${k}: must be set in production`).join('\n')}`);
  }
  // Response validation roughly doubles validation cost (PERFORMANCE-NOTES.md): on in
  // development and test, off in production unless asked for.
  return { ...c, validateResponses: c.VALIDATE_RESPONSES ?? c.NODE_ENV !== 'production' };
}

/** For entry points: the config, or a message naming the bad variables on stderr and exit code 78 (EX_CONFIG). */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
}

export const databaseOptions = (c: Config) => ({ url: c.DATABASE_URL, replicaUrl: c.DATABASE_REPLICA_URL, poolMax: c.DATABASE_POOL_MAX });
