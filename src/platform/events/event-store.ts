import { randomUUID } from 'node:crypto';
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { RequestContext } from '../context';
import type { EventMetadata, NewEvent, StoredEvent } from './event';

export interface AggregateRef {
  type: string;
  id: string;
}

interface Row {
  position: string;
  id: string;
  aggregate_type: string;
  aggregate_id: string;
  aggregate_version: number;
  type: string;
  schema_version: number;
  payload: Record<string, unknown>;
  metadata: EventMetadata;
  occurred_at: Date;
}

export const toStoredEvent = (r: Row): StoredEvent => ({
  id: r.id,
  position: Number(r.position),
  aggregate_type: r.aggregate_type,
  aggregate_id: r.aggregate_id,
  aggregate_version: r.aggregate_version,
  type: r.type,
  schema_version: r.schema_version,
  payload: r.payload,
  metadata: r.metadata,
  occurred_at: new Date(r.occurred_at).toISOString(),
});

export const newEventId = () => `evt_${randomUUID().replace(/-/g, '')}`;

/** Metadata for events recorded while serving a request. */
export const metadataFrom = (ctx: RequestContext, extra: EventMetadata = {}): EventMetadata => ({
  actor_id: ctx.actor?.userId,
  request_id: ctx.requestId,
  correlation_id: ctx.requestId,
  ...extra,
});

/**
 * The one way to publish: appends events for one aggregate inside the caller's transaction,
 * numbered after the aggregate's last version. Appends to one aggregate are serialised by a
 * transaction-scoped advisory lock on it, taken in a statement of its own so that the numbering
 * reads after the previous holder committed: two sign-ins of one user at once (whose writers
 * lock no row) used to collide on (aggregate, version), and one failed with a 500. The unique
 * constraint stays, so histories never interleave whatever a writer does. Nothing is published
 * unless the transaction commits.
 */
export async function appendEvents(
  sequelize: Sequelize,
  transaction: Transaction,
  aggregate: AggregateRef,
  events: NewEvent[],
  metadata: EventMetadata,
): Promise<StoredEvent[]> {
  if (events.length === 0) return [];
  await sequelize.query(`SELECT pg_advisory_xact_lock(hashtextextended('events:' || $1 || ':' || $2, 0))`, { bind: [aggregate.type, aggregate.id], type: QueryTypes.SELECT, transaction });
  const rows = await sequelize.query<Row>(
    `WITH last AS (
       SELECT coalesce(max(aggregate_version), 0) AS v FROM events WHERE aggregate_type = $1 AND aggregate_id = $2
     )
     INSERT INTO events (id, aggregate_type, aggregate_id, aggregate_version, type, schema_version, payload, metadata)
     SELECT e.id, $1, $2, last.v + e.ord, e.type, e.schema_version, e.payload, $3::jsonb
       FROM last, jsonb_to_recordset($4::jsonb) AS e(id text, ord int, type text, schema_version smallint, payload jsonb)
      ORDER BY e.ord
     RETURNING *`,
    {
      bind: [
        aggregate.type,
        aggregate.id,
        JSON.stringify(metadata),
        JSON.stringify(events.map((e, i) => ({ id: newEventId(), ord: i + 1, type: e.type, schema_version: e.schemaVersion ?? 1, payload: e.payload }))),
      ],
      type: QueryTypes.SELECT,
      transaction,
    },
  );
  return rows.map(toStoredEvent).sort((a, b) => a.position - b.position);
}

/** Events after `afterPosition`, in position order (replay, catch-up). Optionally only some types. */
export async function readEvents(sequelize: Sequelize, afterPosition: number, limit: number, types?: string[]): Promise<StoredEvent[]> {
  const rows = await sequelize.query<Row>(
    `SELECT * FROM events WHERE position > $1 ${types ? 'AND type = ANY($3)' : ''} ORDER BY position LIMIT $2`,
    { bind: types ? [afterPosition, limit, types] : [afterPosition, limit], type: QueryTypes.SELECT },
  );
  return rows.map(toStoredEvent);
}

/** One aggregate's events in order, optionally only some types (a read model repairing one document). */
export async function readAggregateEvents(sequelize: Sequelize, aggregate: AggregateRef, types?: string[], transaction?: Transaction): Promise<StoredEvent[]> {
  const rows = await sequelize.query<Row>(
    `SELECT * FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 ${types ? 'AND type = ANY($3)' : ''} ORDER BY aggregate_version`,
    { bind: types ? [aggregate.type, aggregate.id, types] : [aggregate.type, aggregate.id], type: QueryTypes.SELECT, ...(transaction ? { transaction } : {}) },
  );
  return rows.map(toStoredEvent);
}

/**
 * The last position, once no event at or below it can still appear: a position is drawn when an
 * event is inserted, not when its transaction commits, so a transaction still open may commit a
 * lower one after a higher one is visible. This waits for every transaction that was writing
 * events when the head was read (it holds the table's RowExclusiveLock until it ends), so that a
 * replay reading up to the head misses nothing and its catch-up after the head repeats nothing
 * it needs. Gives up after `timeoutMs`: a writer held open that long is a fault to look at.
 */
export async function settledHeadPosition(sequelize: Sequelize, { timeoutMs = 60_000, pollMs = 50 } = {}): Promise<number> {
  // Writers are told by their virtual transaction id, which pg_locks shows to every role (unlike
  // pg_stat_activity's transaction fields); each transaction holds the lock on its own id until
  // it ends, which is how CREATE INDEX CONCURRENTLY waits for older transactions too.
  const [row] = await sequelize.query<{ p: string | null; writers: string[] }>(
    `SELECT (SELECT max(position) FROM events) AS p,
            ARRAY(SELECT DISTINCT l.virtualtransaction FROM pg_locks l
                   WHERE l.locktype = 'relation' AND l.relation = 'events'::regclass
                     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                     AND l.mode = 'RowExclusiveLock' AND l.granted AND l.pid IS DISTINCT FROM pg_backend_pid()) AS writers`,
    { type: QueryTypes.SELECT, useMaster: true },
  );
  const head = Number(row?.p ?? 0);
  const writers = row?.writers ?? [];
  for (const deadline = Date.now() + timeoutMs; writers.length > 0; ) {
    const [open] = await sequelize.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'virtualxid' AND virtualxid = ANY($1::text[]) AND granted`,
      { bind: [writers], type: QueryTypes.SELECT, useMaster: true },
    );
    if ((open?.n ?? 0) === 0) break;
    if (Date.now() > deadline) throw new Error(`a transaction writing events has stayed open for more than ${timeoutMs} ms: the event head cannot settle`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return head;
}

/** What use cases depend on to record events: bound to the database, called inside their transaction. */
export type RecordEvents = (transaction: Transaction, aggregate: AggregateRef, events: NewEvent[], metadata: EventMetadata) => Promise<StoredEvent[]>;

export const eventRecorder =
  (sequelize: Sequelize): RecordEvents =>
  (transaction, aggregate, events, metadata) =>
    appendEvents(sequelize, transaction, aggregate, events, metadata);
