import { randomBytes } from 'node:crypto';
import mongoose, { Schema, type Connection, type Model, type SchemaDefinition } from 'mongoose';
import type { Logger } from '../logger';
import {
  assertSpec,
  planQuery,
  prepareDoc,
  toPage,
  type Collection,
  type CollectionSpec,
  type Doc,
  type DocumentStore,
  type FindQuery,
  type IndexType,
  type Page,
  type PlannedQuery,
  type Segment,
} from './document-store';

// One MongoDB collection per collection, `doc_<name>`, documents stored as they are with our id
// as `_id`. Per declared field one index `{ field: 1, _id: 1 }`, so that filters and the keyset
// pagination `sort({ field, _id })` are index scans (a descending sort reads it backwards).
// Dates are ISO-8601 UTC strings here too (see prepareDoc): string order is time order, and
// both adapters then compare exactly the same values.

interface Stored {
  _id: string;
  version: number;
  [field: string]: unknown;
}

type Filter = Record<string, unknown>;

const DUPLICATE_KEY = 11000;

export class MongoDocumentStore implements DocumentStore {
  readonly kind = 'mongodb' as const;

  private constructor(
    private readonly conn: Connection,
    private readonly log: Logger,
  ) {}

  /** Connects (failing fast when MongoDB is unreachable) and returns the store. */
  static async connect(url: string, log: Logger, poolMax = 4): Promise<MongoDocumentStore> {
    const conn = mongoose.createConnection(url, { maxPoolSize: poolMax, serverSelectionTimeoutMS: 10_000 });
    // With a listener, Mongoose reports connection errors here instead of throwing them.
    conn.on('error', (err: unknown) => log.warn({ err }, 'document store: mongodb connection error'));
    try {
      await conn.asPromise();
    } catch (err) {
      await conn.close().catch(() => undefined);
      throw err;
    }
    return new MongoDocumentStore(conn, log);
  }

  /** One model per live collection, declared once: every declare compiles a model and runs its init. */
  private readonly live = new Map<string, Promise<Model<Stored>>>();

  async collection<T extends Doc>(spec: CollectionSpec): Promise<Collection<T>> {
    assertSpec(spec);
    const name = collectionOf(spec.name);
    let model = this.live.get(name);
    if (!model) {
      model = this.declare(name, spec);
      this.live.set(name, model);
      model.catch(() => this.live.delete(name));
    }
    return new MongoCollection<T>(await model, spec);
  }

  // Unlike the PostgreSQL adapter, concurrent rebuilds of one collection are not serialised
  // (MongoDB has no advisory lock): each fills its own shadow and swaps a complete collection
  // in, the last to finish wins. Nor are orphaned shadows of crashed rebuilds removed here: a
  // shadow cannot be told apart from one being filled by another process.
  async rebuild<T extends Doc>(spec: CollectionSpec, fill: (shadow: Collection<T>) => Promise<void>): Promise<void> {
    assertSpec(spec);
    const live = collectionOf(spec.name);
    const shadow = `${live}__shadow_${randomBytes(4).toString('hex')}`;
    try {
      // Inside: a failure while making its indexes still drops the collection it created.
      const model = await this.declare(shadow, spec);
      await fill(new MongoCollection<T>(model, spec));
      // renameCollection with dropTarget replaces the live collection in one step: readers see the
      // old documents until it completes and the new ones after (within one database).
      await this.db().renameCollection(shadow, live, { dropTarget: true });
    } catch (err) {
      await this.conn.dropCollection(shadow).catch((dropErr: unknown) => this.log.warn({ err: dropErr, collection: shadow }, 'document store: could not drop the shadow of a failed rebuild'));
      throw err;
    } finally {
      this.conn.deleteModel(shadow);
    }
  }

  async close(): Promise<void> {
    // destroy, not close: a closed connection stays in mongoose.connections (Mongoose 9).
    await this.conn.destroy();
  }

  /** A model for the collection, with the collection and its indexes created if missing. */
  private async declare(name: string, spec: CollectionSpec): Promise<Model<Stored>> {
    const definition: SchemaDefinition = { _id: { type: String, required: true }, version: { type: Number, required: true } };
    for (const { field, type } of spec.indexes) definition[field] = SCHEMA_TYPE[type];
    const schema = new Schema(definition, {
      // Documents carry any fields; only the declared ones are typed.
      strict: false,
      // Filters on undeclared paths are never built by this adapter, but a false default must not
      // depend on a global setting: true would silently drop them.
      strictQuery: false,
      versionKey: false,
      id: false,
      // Keep empty objects (`specifications: {}`): get returns the document as written, as the
      // PostgreSQL adapter does; Mongoose would drop them.
      minimize: false,
      // Created explicitly below, so that collection() resolves only when they exist.
      autoCreate: false,
      autoIndex: false,
    });
    for (const { field } of spec.indexes) schema.index({ [field]: 1, _id: 1 });
    // Passing the collection name compiles a fresh model each time, so redeclaring never throws
    // OverwriteModelError; Mongoose caches only the first per name.
    const model = this.conn.model<Stored>(name, schema, name) as unknown as Model<Stored>;
    // Ignores "already exists" (code 48), so two processes can declare at once; createIndexes
    // of identical specs is idempotent on the server.
    await model.createCollection();
    await model.createIndexes();
    return model;
  }

  private db() {
    const db = this.conn.db;
    if (!db) throw new Error('document store: mongodb connection is not open');
    return db;
  }
}

class MongoCollection<T extends Doc> implements Collection<T> {
  constructor(
    private readonly model: Model<Stored>,
    private readonly spec: CollectionSpec,
  ) {}

  async upsert(doc: T, attempt = 1): Promise<boolean> {
    const { id, ...rest } = prepareDoc(this.spec, doc);
    // Matches only a stored older version; when the id exists with a version >= ours, the
    // upsert's insert collides with the existing _id: that duplicate key means "not written",
    // which also settles two writers racing to insert the same new id.
    const filter = { _id: id, version: { $lt: doc.version } };
    try {
      const result = await this.model.replaceOne(filter, { ...rest, _id: id }, { upsert: true }).exec();
      return result.matchedCount > 0 || result.upsertedCount > 0;
    } catch (err) {
      if ((err as { code?: unknown }).code !== DUPLICATE_KEY) throw err;
      // Either a version >= ours is stored, or another writer inserted this new id first with an
      // older version. MongoDB retries a colliding upsert itself only for a pure equality filter
      // on _id, so ask again without inserting: it replaces only an older stored version.
      const retried = await this.model.replaceOne(filter, { ...rest, _id: id }).exec();
      if (retried.matchedCount > 0) return true;
      // Neither matched: a version >= ours is stored (not written), or the colliding document was
      // deleted in between, and then ours belongs there, as PostgreSQL's ON CONFLICT would have it.
      if (await this.model.exists({ _id: id, version: { $gte: doc.version } }).exec()) return false;
      if (attempt >= UPSERT_ATTEMPTS) throw new Error(`document store: ${this.spec.name}/${id} kept changing under an upsert`);
      return this.upsert(doc, attempt + 1);
    }
  }

  async get(id: string): Promise<T | null> {
    const stored = await this.model.findOne({ _id: id }).lean<Stored>().exec();
    return stored ? fromStored<T>(stored) : null;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.model.deleteOne({ _id: id }).exec();
    return result.deletedCount > 0;
  }

  async count(): Promise<number> {
    return this.model.countDocuments({}).exec();
  }

  async find(query: FindQuery): Promise<Page<T>> {
    const plan = planQuery(this.spec, query);
    const filters: Filter[] = plan.filters.map((f) => ({ [path(f.field)]: { [`$${f.op}`]: f.value } }));
    const dir = plan.sort.direction === 'asc' ? 1 : -1;
    const sort: Record<string, 1 | -1> = plan.sort.field === 'id' ? { _id: dir } : { [plan.sort.field]: dir, _id: dir };
    const rows: T[] = [];
    for (const read of plan.segments.flatMap((segment) => segmentReads(plan, segment))) {
      const and = [...filters, ...read];
      const found = await this.model
        .find(and.length ? { $and: and } : {})
        .sort(sort)
        .limit(plan.limit + 1 - rows.length)
        // The page in one batch: a cursor left open for a getMore would be killed by a rebuild's rename.
        .batchSize(plan.limit + 1 - rows.length)
        .lean<Stored[]>()
        .exec();
      rows.push(...found.map((r) => fromStored<T>(r)));
      if (rows.length > plan.limit) break;
    }
    return toPage(plan, rows);
  }
}

/** An upsert that keeps meeting a document deleted and inserted again under it gives up after this many tries. */
const UPSERT_ATTEMPTS = 5;

// MongoDB sorts null and missing lowest, which is the port's order. Each read is one range of the
// `{ field: 1, _id: 1 }` index, read in order: "after (value, id)" is the rest of value's tie group
// (`field = value, _id > id`), then everything past value. One read with `$nor` over the tie group
// would not bound the index by `_id` (a negated conjunction gives no bounds, SERVER-92427), so each
// page re-scanned the tie group so far: quadratic over a low-cardinality field.
function segmentReads(plan: PlannedQuery, segment: Segment): Filter[][] {
  const { field, direction } = plan.sort;
  const asc = direction === 'asc';
  const idAfter = (id: string) => ({ _id: { [asc ? '$gt' : '$lt']: id } });
  if (segment.kind === 'all') return [[]];
  if (segment.kind === 'nulls') return [[{ [field]: null }, ...(segment.afterId === undefined ? [] : [idAfter(segment.afterId)])]];
  if (!segment.after) return [[{ [field]: { $ne: null } }]];
  const { value, id } = segment.after;
  if (field === 'id') return [[idAfter(id)]];
  return [[{ [field]: value }, idAfter(id)], [{ [field]: { [asc ? '$gt' : '$lt']: value } }]];
}

function fromStored<T extends Doc>(stored: Stored): T {
  const { _id, ...rest } = stored;
  return { id: _id, ...rest } as unknown as T;
}

const path = (field: string) => (field === 'id' ? '_id' : field);
const collectionOf = (name: string) => `doc_${name}`;
const SCHEMA_TYPE: Record<IndexType, StringConstructor | NumberConstructor | BooleanConstructor> = {
  string: String,
  number: Number,
  boolean: Boolean,
  date: String,
};
