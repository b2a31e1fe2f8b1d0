import { cursorFingerprint, InvalidCursorError, openCursor, sealCursor } from '../pagination/cursor';

// The port for document read models (projections): documents keyed by id, written by consumers
// in event order, read by handlers through indexed queries only. Deliberately small, so that the
// PostgreSQL JSONB adapter and the MongoDB adapter can honour it exactly.

export type IndexType = 'string' | 'number' | 'boolean' | 'date';

export interface CollectionSpec {
  /** snake_case, [a-z][a-z0-9_]{0,40}, without `__` (reserved for shadow collections). */
  name: string;
  indexes: { field: string; type: IndexType }[];
}

/** Every document has a string id and a version (e.g. the event position that produced it). */
export interface Doc {
  id: string;
  version: number;
  [field: string]: unknown;
}

export type FilterOp = 'eq' | 'gt' | 'gte' | 'lt' | 'lte';

export interface Filter {
  field: string;
  op: FilterOp;
  value: string | number | boolean;
}

export interface FindQuery {
  where?: Filter[];
  sort?: { field: string; direction: 'asc' | 'desc' };
  /** 1..500 */
  limit: number;
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Collection<T extends Doc> {
  /** Writes the document unless the stored one has a version >= doc.version; returns whether it was written. */
  upsert(doc: T): Promise<boolean>;
  get(id: string): Promise<T | null>;
  delete(id: string): Promise<boolean>;
  find(query: FindQuery): Promise<Page<T>>;
  count(): Promise<number>;
}

export interface DocumentStore {
  readonly kind: 'postgres' | 'mongodb';
  /** Declares (creating if missing: table/collection + indexes on the declared fields) and returns the collection. Idempotent. */
  collection<T extends Doc>(spec: CollectionSpec): Promise<Collection<T>>;
  /**
   * Rebuild: creates a fresh empty shadow collection, lets `fill` write into it, then atomically
   * swaps it in place of the live one (readers never see a half-filled collection); the old one
   * is dropped. Writes made to the live collection during the fill are dropped with it: the
   * caller's fill must cover everything up to the moment of the swap (e.g. pause the consumer).
   */
  rebuild<T extends Doc>(spec: CollectionSpec, fill: (shadow: Collection<T>) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Shared by the adapters, so both validate, normalise and paginate in exactly the same way.

const COLLECTION_NAME = /^[a-z][a-z0-9_]{0,40}$/;
// Top-level fields only; letters first so a name is safe as a JSONB key literal and a Mongo path.
const FIELD_NAME = /^[a-zA-Z][a-zA-Z0-9_]{0,40}$/;
// Dates are stored as `Date#toISOString()` (fixed width, UTC), so that string order is time
// order in both stores. Input must carry its zone: a zone-less time is ambiguous.
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const MAX_LIMIT = 500;

export type SortValue = string | number | boolean | null;

/**
 * A run of the sort order, read in the sort direction. The order is [missing values by id, then
 * values by (value, id)] ascending and its exact reverse descending: missing values sort lowest,
 * as in MongoDB. After a cursor, the rest of the order is at most two runs, each one range of
 * the `(field, id)` index; an OR across them would cost the index order (and a sort of every
 * remaining row) in PostgreSQL, so adapters read the runs one after another instead.
 */
export type Segment =
  | { kind: 'all' }
  /** Documents with a value, strictly after (value, id) when given. For an `id` sort, value is the id. */
  | { kind: 'values'; after?: { value: string | number | boolean; id: string } }
  /** Documents without a value, with an id strictly after `afterId` when given. */
  | { kind: 'nulls'; afterId?: string };

/** A query checked against the spec, values normalised, cursor decoded. `type` of `id` is 'string'. */
export interface PlannedQuery {
  filters: { field: string; type: IndexType; op: FilterOp; value: string | number | boolean }[];
  sort: { field: string; type: IndexType; direction: 'asc' | 'desc' };
  limit: number;
  /** What to read, in order, until `limit + 1` rows are found. */
  segments: Segment[];
  fingerprint: string;
}

export function assertSpec(spec: CollectionSpec): void {
  if (!COLLECTION_NAME.test(spec.name) || spec.name.includes('__')) {
    throw new Error(`Collection name "${spec.name}" must match ${COLLECTION_NAME} and not contain "__"`);
  }
  const seen = new Set<string>();
  for (const { field, type } of spec.indexes) {
    if (!FIELD_NAME.test(field)) throw new Error(`Index field "${field}" of ${spec.name} must match ${FIELD_NAME}`);
    if (field === 'id') throw new Error(`Index field "id" of ${spec.name}: id is always indexed`);
    if (seen.has(field)) throw new Error(`Index field "${field}" of ${spec.name} is declared twice`);
    if (!['string', 'number', 'boolean', 'date'].includes(type)) throw new Error(`Index field "${field}" of ${spec.name} has unknown type ${String(type)}`);
    seen.add(field);
  }
}

/**
 * Checks id, version and the declared fields of a document about to be written, and returns a
 * copy with date fields normalised to ISO-8601 UTC strings. A declared field may be absent or null.
 */
export function prepareDoc<T extends Doc>(spec: CollectionSpec, doc: T): T {
  if (typeof doc.id !== 'string' || doc.id.length === 0 || doc.id.length > 256) throw new Error(`${spec.name}: id must be a string of 1..256 characters`);
  if (!Number.isSafeInteger(doc.version) || doc.version < 0) throw new Error(`${spec.name}/${doc.id}: version must be a non-negative safe integer`);
  if ('_id' in doc) throw new Error(`${spec.name}/${doc.id}: the field _id is reserved`);
  const out: Record<string, unknown> = { ...doc };
  for (const { field, type } of spec.indexes) {
    const value = out[field];
    if (value === undefined || value === null) continue;
    out[field] = normalise(spec, field, type, value);
  }
  return out as T;
}

/** Validates a query against the spec: only declared fields (or id) may be filtered or sorted on. */
export function planQuery(spec: CollectionSpec, query: FindQuery): PlannedQuery {
  if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > MAX_LIMIT) throw new RangeError(`limit must be an integer in 1..${MAX_LIMIT}, got ${query.limit}`);
  const filters = (query.where ?? []).map((f) => {
    const type = indexedType(spec, f.field, 'filter');
    if (!['eq', 'gt', 'gte', 'lt', 'lte'].includes(f.op)) throw new Error(`Unknown filter op ${String(f.op)} on ${f.field}`);
    return { field: f.field, type, op: f.op, value: normalise(spec, f.field, type, f.value) };
  });
  const sortField = query.sort?.field ?? 'id';
  const direction = query.sort?.direction ?? 'asc';
  if (direction !== 'asc' && direction !== 'desc') throw new Error(`Unknown sort direction ${String(direction)}`);
  const sort = { field: sortField, type: indexedType(spec, sortField, 'sort'), direction };
  // Filters are a conjunction: their order does not change the query, so not the fingerprint.
  const shape = JSON.stringify([spec.name, filters.map((f) => [f.field, f.op, f.value]).sort(compareJson), sort.field, sort.direction]);
  const fingerprint = cursorFingerprint(shape);
  const plan: PlannedQuery = { filters, sort, limit: query.limit, segments: [{ kind: 'all' }], fingerprint };
  if (query.cursor !== undefined) plan.segments = segmentsAfter(plan, decodeCursor(plan, query.cursor));
  return plan;
}

function segmentsAfter({ sort }: PlannedQuery, { value, id }: { value: SortValue; id: string }): Segment[] {
  if (value === null) return sort.direction === 'asc' ? [{ kind: 'nulls', afterId: id }, { kind: 'values' }] : [{ kind: 'nulls', afterId: id }];
  const rest: Segment = { kind: 'values', after: { value, id } };
  return sort.direction === 'asc' || sort.field === 'id' ? [rest] : [rest, { kind: 'nulls' }];
}

/** The page from `limit + 1` rows read in sort order: the extra row only says there is a next page. */
export function toPage<T extends Doc>(plan: PlannedQuery, rows: T[]): Page<T> {
  if (rows.length <= plan.limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, plan.limit);
  const last = items[items.length - 1]!;
  const value = plan.sort.field === 'id' ? last.id : ((last[plan.sort.field] ?? null) as SortValue);
  return { items, nextCursor: sealCursor('documents', { value, id: last.id }, plan.fingerprint) };
}

/** The position after which the page starts; its value must fit the sort field (never a failing cast). */
function decodeCursor(plan: PlannedQuery, cursor: string): { value: SortValue; id: string } {
  const { value, id } = openCursor('documents', cursor, plan.fingerprint);
  const expected = plan.sort.type === 'date' ? 'string' : plan.sort.type;
  const nullable = plan.sort.field !== 'id';
  if (!(value === null ? nullable : typeof value === expected)) throw new InvalidCursorError('The cursor does not fit the sort field.');
  return { value: value as SortValue, id };
}

function indexedType(spec: CollectionSpec, field: string, use: 'filter' | 'sort'): IndexType {
  if (field === 'id') return 'string';
  const index = spec.indexes.find((i) => i.field === field);
  if (!index) throw new Error(`Cannot ${use} ${spec.name} on "${field}": not a declared index field (it would be a full scan)`);
  return index.type;
}

function normalise(spec: CollectionSpec, field: string, type: IndexType, value: unknown): string | number | boolean {
  const bad = (what: string) => new Error(`${spec.name}.${field} must be ${what}, got ${JSON.stringify(value)}`);
  switch (type) {
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw bad('a finite number');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw bad('a boolean');
      return value;
    case 'string':
      if (typeof value !== 'string') throw bad('a string');
      return value;
    case 'date': {
      if (!(value instanceof Date) && !(typeof value === 'string' && ISO_WITH_ZONE.test(value))) throw bad('a Date or an ISO-8601 string with a zone');
      const time = new Date(value).getTime();
      const iso = Number.isNaN(time) ? '' : new Date(time).toISOString();
      if (iso.length !== 24) throw bad('a valid date in years 0000..9999');
      return iso;
    }
  }
}

const compareJson = (a: unknown, b: unknown) => {
  const [x, y] = [JSON.stringify(a), JSON.stringify(b)];
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * The collection, opened on first use and then shared. An opening that fails (the store
 * unreachable at start-up) is not kept: the next use tries again, where a kept rejected promise
 * would fail every read and event until the process restarts.
 */
export function lazyCollection<T extends Doc>(store: DocumentStore, spec: CollectionSpec): () => Promise<Collection<T>> {
  let opened: Promise<Collection<T>> | undefined;
  return () =>
    (opened ??= store.collection<T>(spec).catch((err: unknown) => {
      opened = undefined;
      throw err;
    }));
}
