import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('when nothing is set, then every variable has its documented default', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ NODE_ENV: 'development', PORT: 3000, RATE_LIMIT_MAX: 100, RATE_LIMIT_WINDOW_SECONDS: 60, DATABASE_POOL_MAX: 4 });
    expect(c.validateResponses).toBe(true);
  });

  it('when a variable is malformed, then loading fails with a message naming each one', () => {
    expect(() => loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', CORS_ORIGINS: 'a' })).toThrow(ConfigError);
    // One connection would deadlock an Idempotency-Key request reading before its locks.
    expect(() => loadConfig({ DATABASE_POOL_MAX: '1' })).toThrow(/DATABASE_POOL_MAX/);
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x' });
    } catch (err) {
      expect((err as Error).message).toMatch(/PORT/);
      expect((err as Error).message).toMatch(/DATABASE_URL/);
    }
  });

  it('when production runs with a development secret or key, or without its public address, then loading fails naming each one', () => {
    const key = (byte: number) => Buffer.alloc(32, byte).toString('base64');
    const secrets = { JWT_SECRET: 'p'.repeat(40), FIELD_ENCRYPTION_KEYS: `k1:${key(1)}`, BLIND_INDEX_KEY: key(2), PUBLIC_BASE_URL: 'https://api.junggo.example' };
    for (const name of Object.keys(secrets) as (keyof typeof secrets)[]) {
      const { [name]: _missing, ...others } = secrets;
      expect(() => loadConfig({ NODE_ENV: 'production', ...others })).toThrow(new RegExp(`${name}: must be set in production`));
    }
    const prod = loadConfig({ NODE_ENV: 'production', ...secrets });
    expect(prod.validateResponses).toBe(false);
  });

  it('when the encryption key ring or index key is malformed, then loading fails naming it', () => {
    expect(() => loadConfig({ FIELD_ENCRYPTION_KEYS: 'k1:c2hvcnQ=' })).toThrow(/FIELD_ENCRYPTION_KEYS: .*32/);
    expect(() => loadConfig({ BLIND_INDEX_KEY: 'not base64!' })).toThrow(/BLIND_INDEX_KEY/);
  });

  it('when the API process starts with a bad variable, then it exits 78 and says which', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: { ...process.env, PORT: 'not-a-port', NODE_ENV: 'test' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(78);
    expect(run.stderr).toContain('PORT');
  });
});
