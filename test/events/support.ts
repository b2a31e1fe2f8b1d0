import { randomUUID } from 'node:crypto';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { QueryTypes, type Sequelize } from 'sequelize';
import { RabbitConnection } from '../../src/platform/bus/rabbitmq';
import { createSequelize } from '../../src/platform/db/sequelize';
import { appendEvents } from '../../src/platform/events/event-store';
import { declareEventTopology, dlqFor, queueFor } from '../../src/platform/events/topology';
import type { StoredEvent } from '../../src/platform/events/event';
import { createLogger } from '../../src/platform/logger';
import { TEST_ENV } from '../support/env';

export const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', 'test');

export async function connectInfra() {
  const sequelize = createSequelize({ url: TEST_ENV.DATABASE_URL, poolMax: 4 }, log);
  const rabbit = new RabbitConnection(TEST_ENV.RABBITMQ_URL, log);
  await rabbit.start();
  return { sequelize, rabbit };
}

/** An event type of this test's own, so no other subscriber or test sees its events. */
export const uniqueType = (what = 'happened') => `test_${randomUUID().slice(0, 8)}.${what}`;

export async function append(sequelize: Sequelize, type: string, payloads: Record<string, unknown>[], aggregateId = `agg_${randomUUID()}`): Promise<StoredEvent[]> {
  return sequelize.transaction((t) => appendEvents(sequelize, t, { type: 'test', id: aggregateId }, payloads.map((payload) => ({ type, payload })), { actor_id: 'usr_test' }));
}

export async function count(sequelize: Sequelize, sql: string, bind: unknown[]): Promise<number> {
  const [row] = await sequelize.query<{ n: string }>(sql, { bind, type: QueryTypes.SELECT });
  return Number(row?.n ?? 0);
}

export async function until(check: () => Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The connection's channel model, and a confirm channel of the test's own with the event topology declared. */
export async function openAdminChannel(rabbit: RabbitConnection): Promise<{ model: ChannelModel; admin: ConfirmChannel }> {
  const model = await new Promise<ChannelModel>((resolve) => void rabbit.onReady(async (m) => resolve(m)));
  const admin = await model.createConfirmChannel();
  await declareEventTopology(admin);
  return { model, admin };
}

/** Deletes the queues and dead-letter queues of the subscribers a test made. */
export async function deleteSubscriberQueues(admin: ConfirmChannel, subscribers: string[]): Promise<void> {
  for (const name of subscribers) {
    await admin.deleteQueue(queueFor(name)).catch(() => undefined);
    await admin.deleteQueue(dlqFor(name)).catch(() => undefined);
  }
}
