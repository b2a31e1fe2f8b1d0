import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { devToken } from '../../src/cli/dev-token';
import { dlqReplay } from '../../src/cli/dlq-replay';
import { replay } from '../../src/cli/replay';
import { seed } from '../../src/cli/seed';
import { DEMO_SELLERS } from '../../src/modules/products/demo-listings';
import { DEMO_ACCOUNTS } from '../../src/modules/users/demo-accounts';
import { Client } from 'pg';
import { RabbitConnection } from '../../src/platform/bus/rabbitmq';
import { declareSubscriberQueue, DEAD_LETTER_EXCHANGE, dlqFor, queueFor } from '../../src/platform/events/topology';
import { createLogger } from '../../src/platform/logger';
import { testConfig } from '../support/env';

const config = testConfig();

describe('make seed', () => {
  it('when the tree is migrated, then it reports it, the demo accounts exist once, verified, the admin with its role, and the demo sellers list their listings once; in production it refuses', async () => {
    const first = await seed(config);
    expect(first).toMatch(/^demo data ready: \d+ top-level categories, \d+ in all; demo accounts \(\d new\): demo@junggo\.example \/ /);
    const second = await seed(config);
    expect(second).toContain('demo accounts (0 new)');
    expect(second).toContain('demo listings (0 new)');
    const db = new Client({ connectionString: config.DATABASE_URL });
    await db.connect();
    try {
      const { rows } = await db.query(
        `SELECT u.roles, u.email_verified_at IS NOT NULL AS verified FROM users u JOIN events e ON e.aggregate_id = u.id
          WHERE e.type = 'user.registered' AND e.payload->>'method' = 'seed'`,
      );
      expect(rows).toHaveLength(DEMO_ACCOUNTS.length);
      expect(rows.every((r) => r.verified)).toBe(true);
      expect(rows.filter((r) => r.roles.includes('admin'))).toHaveLength(1);
      // Each demo seller lists their demo listings once, in the dong they verified, each with the
      // event the worker indexes it from.
      for (const seller of DEMO_SELLERS) {
        const listed = await db.query(
          `SELECT p.title,
                  EXISTS (SELECT 1 FROM user_neighbourhoods n WHERE n.user_id = p.seller_id AND n.dong_code = p.dong_code) AS in_verified_dong,
                  EXISTS (SELECT 1 FROM events e WHERE e.aggregate_id = p.id AND e.type = 'product.created') AS recorded
             FROM products p
            WHERE p.seller_id = (SELECT seller_id FROM products WHERE title = $1 ORDER BY created_at LIMIT 1)`,
          [seller.listings[0]!.title],
        );
        expect(listed.rows.map((r) => r.title).sort()).toEqual(seller.listings.map((l) => l.title).sort());
        expect(listed.rows.every((r) => r.in_verified_dong && r.recorded)).toBe(true);
      }
    } finally {
      await db.end();
    }
    await expect(seed({ ...config, NODE_ENV: 'production' })).rejects.toThrow(/production/);
  });
});

describe('make dev-token', () => {
  it('when asked for roles, then it signs a token the API accepts with those roles; in production it refuses', () => {
    const claims = jwt.verify(devToken('admin,moderator', config), config.JWT_SECRET, { issuer: config.JWT_ISSUER }) as { roles: string[] };
    expect(claims.roles).toEqual(['admin', 'moderator']);
    expect(() => devToken('admin', { ...config, NODE_ENV: 'production' })).toThrow(/production/);
  });
});

describe('make replay', () => {
  it('when given a known projection, then it rebuilds it and says how far; an unknown one lists the known', async () => {
    expect(await replay('activity-log', config, false)).toMatch(/^rebuilt activity-log \(postgres\): \d+ event\(s\) applied up to position \d+ and after$/);
    await expect(replay('nope', config, false)).rejects.toThrow(/known: activity-log/);
  });
});

describe('make dlq-replay', () => {
  it('when a subscriber has dead letters, then they go back to its queue and the DLQ is empty', async () => {
    const subscriber = `test-cli-${randomUUID().slice(0, 8)}`;
    const rabbit = new RabbitConnection(config.RABBITMQ_URL, createLogger('silent', 'test'));
    await rabbit.start();
    const channel = rabbit.adminChannel!;
    try {
      await declareSubscriberQueue(channel, subscriber, [], 5);
      for (const n of [1, 2]) channel.publish(DEAD_LETTER_EXCHANGE, dlqFor(subscriber), Buffer.from(JSON.stringify({ n })), { persistent: true });
      await channel.waitForConfirms();
      expect(await dlqReplay(subscriber, config)).toBe(`moved 2 message(s) from the DLQ of ${subscriber} back to its queue`);
      expect((await channel.checkQueue(dlqFor(subscriber))).messageCount).toBe(0);
      expect((await channel.checkQueue(queueFor(subscriber))).messageCount).toBe(2);
      await expect(dlqReplay(undefined, config)).rejects.toThrow(/usage/);
    } finally {
      await channel.deleteQueue(queueFor(subscriber)).catch(() => undefined);
      await channel.deleteQueue(dlqFor(subscriber)).catch(() => undefined);
      await rabbit.stop();
    }
  });
});
