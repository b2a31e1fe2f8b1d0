import { randomBytes } from 'node:crypto';
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { selectPrepared } from '../db/prepared';
import { READ_REPLICA } from '../db/sequelize';
import {
  categoryPrefix,
  isSubstringTerm,
  matchesAcrossSpaces,
  normaliseText,
  planSearch,
  toSearchPage,
  type SearchDocument,
  type SearchHit,
  type SearchIndex,
  type SearchIndexWriter,
  type SearchListing,
  type SearchPage,
  type SearchOptions,
  type SearchQuery,
  type Suggestion,
  type WriteOptions,
} from './search-index';

// The default adapter: one table (migration 20261127-0012), its own indexes per sort and per
// kind of match. How a query becomes SQL, and the plans it gets on 100k listings: docs/search.md.
//
// Matching a word of the query:
// - 3+ characters: a substring of the normalised title + description with its spaces removed
//   (search_compact LIKE '%word%'; the column is replace(search_text, ' ', ''), stored, migration
//   0032), served by a trigram GIN index on it. This is what finds Korean words inside compounds
//   and phrases (아이폰 in 아이폰14프로, 자전거 in 미니벨로자전거) and whatever the seller spaced
//   (아이폰14 in 아이폰 14 프로).
// - 2 characters (가방): trigrams cannot narrow these; they are a substring as well, through
//   `pairs` (migration 0018: every adjacent character pair of the text's words, GIN-indexed),
//   which finds 가방 in 가죽 가방, 가방끈 and 노트북가방.
// - 1 character (폰): the start of a word, through the full-text index (`폰:*`); as a substring
//   it would match nearly every listing.
// - 3+ characters without three letters or digits in a row (c++, 1.5, ab-c): pg_trgm keeps only
//   runs of letters and digits, so these are narrowed by `punct_grams` (migration 0022: the
//   text's 3-character pieces holding punctuation, GIN-indexed) before the LIKE.
// Every word must match (AND). Identifiers are fixed or checked names; every value is bound.

const TABLE = /^[a-z][a-z0-9_]{0,50}$/;
/** Up to this many dongs, a newest-first dong feed reads each dong's own index range. */
const PER_DONG_MAX = 50;

const COLUMNS = `id, version, seller_id, title, description, category_id, category_path, price, condition, trade_methods, shipping_fee,
  dong_code, dong_name, lat, lng, status, moderation, deleted, like_count, chat_count, thumbnail_url, bumped_at, created_at`;
/** What a search returns (SearchListing). */
const LISTING_COLUMNS = 'id, title, category_id, price, condition, dong_code, dong_name, lat, lng, status, like_count, chat_count, thumbnail_url, bumped_at';

interface Row {
  id: string;
  version: string | number;
  seller_id: string;
  title: string;
  description: string;
  category_id: string;
  category_path: string;
  price: number;
  condition: SearchDocument['condition'];
  trade_methods: SearchDocument['tradeMethods'];
  shipping_fee: number;
  dong_code: string;
  dong_name: string;
  lat: number;
  lng: number;
  status: SearchDocument['status'];
  moderation: SearchDocument['moderation'];
  deleted: boolean;
  like_count: number;
  chat_count: number;
  thumbnail_url: string | null;
  bumped_at: Date | string;
  created_at: Date | string;
  distance?: number | string | null;
}
type ListingRow = Pick<Row, 'id' | 'title' | 'category_id' | 'price' | 'condition' | 'dong_code' | 'dong_name' | 'lat' | 'lng' | 'status' | 'like_count' | 'chat_count' | 'thumbnail_url' | 'bumped_at' | 'distance'>;

// The great-circle distance from `point` (an earth value) to lat/lng columns, as earthdistance's
// earth_distance(ll_to_earth(lat, lng), point) computes it, without ll_to_earth's cast to the
// `earth` domain: that cast runs the domain's three CHECKs on every row and costs three times the
// arithmetic (3,526 dongs: 18 ms against 5.5 ms in psql), while the cube and the distance are the
// same floating-point operations, so the results are bit-identical (0 of 3,526 differ). The
// earth_box condition keeps ll_to_earth(lat, lng): it is the indexed expression.
const distanceSql = (lat: string, lng: string, point: string) =>
  `sec_to_gc(cube_distance(cube(cube(cube(earth()*cos(radians(${lat}))*cos(radians(${lng}))),earth()*cos(radians(${lat}))*sin(radians(${lng}))),earth()*sin(radians(${lat}))), ${point}))`;

const iso = (d: Date | string) => new Date(d).toISOString();

const toListing = (r: ListingRow): SearchListing => ({
  id: r.id,
  title: r.title,
  categoryId: r.category_id,
  price: r.price,
  condition: r.condition,
  dongCode: r.dong_code,
  dongName: r.dong_name,
  lat: r.lat,
  lng: r.lng,
  status: r.status,
  likeCount: r.like_count,
  chatCount: r.chat_count,
  thumbnailUrl: r.thumbnail_url,
  bumpedAt: iso(r.bumped_at),
});

const toDoc = (r: Row): SearchDocument => ({
  ...toListing(r),
  version: Number(r.version),
  sellerId: r.seller_id,
  description: r.description,
  categoryPath: r.category_path.replace(/\/$/, ''),
  tradeMethods: r.trade_methods,
  shippingFee: r.shipping_fee,
  moderation: r.moderation,
  deleted: r.deleted,
  createdAt: iso(r.created_at),
});

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export interface PostgresSearchIndexOptions {
  sequelize: Sequelize;
  /** The live table; tests use a copy of their own. */
  table?: string;
}

export class PostgresSearchIndex implements SearchIndex {
  readonly kind = 'postgres' as const;
  private readonly sequelize: Sequelize;
  private readonly table: string;

  constructor(opts: PostgresSearchIndexOptions) {
    this.sequelize = opts.sequelize;
    this.table = opts.table ?? 'search_documents';
    if (!TABLE.test(this.table)) throw new Error(`bad search table name ${this.table}`);
  }

  async get(id: string, opts: WriteOptions = {}): Promise<SearchDocument | null> {
    return this.read(id, opts.transaction, false);
  }

  async index(doc: SearchDocument, opts: WriteOptions = {}): Promise<boolean> {
    return this.write(doc, opts, '<');
  }

  async restore(doc: SearchDocument, opts: WriteOptions = {}): Promise<boolean> {
    return this.write(doc, opts, '<=');
  }

  /** The upsert, when the stored version compares to the new one as `replaces` says. */
  private async write(doc: SearchDocument, opts: WriteOptions, replaces: '<' | '<='): Promise<boolean> {
    const title = normaliseText(doc.title);
    const rows = await this.sequelize.query<{ id: string }>(
      `INSERT INTO ${this.table} AS d (${COLUMNS}, title_norm, search_text)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text[], $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)
       ON CONFLICT (id) DO UPDATE SET
         version = excluded.version, seller_id = excluded.seller_id, title = excluded.title, description = excluded.description,
         category_id = excluded.category_id, category_path = excluded.category_path, price = excluded.price, condition = excluded.condition,
         trade_methods = excluded.trade_methods, shipping_fee = excluded.shipping_fee, dong_code = excluded.dong_code, dong_name = excluded.dong_name,
         lat = excluded.lat, lng = excluded.lng, status = excluded.status, moderation = excluded.moderation, deleted = excluded.deleted,
         like_count = excluded.like_count, chat_count = excluded.chat_count, thumbnail_url = excluded.thumbnail_url,
         bumped_at = excluded.bumped_at, created_at = excluded.created_at, title_norm = excluded.title_norm, search_text = excluded.search_text
       WHERE d.version ${replaces} excluded.version
       RETURNING id`,
      {
        bind: [
          doc.id,
          doc.version,
          doc.sellerId,
          doc.title,
          doc.description,
          doc.categoryId,
          categoryPrefix(doc.categoryPath),
          doc.price,
          doc.condition,
          doc.tradeMethods,
          doc.shippingFee,
          doc.dongCode,
          doc.dongName,
          doc.lat,
          doc.lng,
          doc.status,
          doc.moderation,
          doc.deleted,
          doc.likeCount,
          doc.chatCount,
          doc.thumbnailUrl,
          // Millisecond precision, the cursor's: a microsecond the cursor cannot carry would skip rows.
          iso(doc.bumpedAt),
          iso(doc.createdAt),
          title,
          `${title} ${normaliseText(doc.description)}`.trim(),
        ],
        type: QueryTypes.SELECT,
        transaction: opts.transaction,
      },
    );
    return rows.length > 0;
  }

  async update(id: string, version: number, change: (current: SearchDocument) => SearchDocument | null, opts: WriteOptions = {}): Promise<boolean> {
    const run = async (t: Transaction) => {
      const current = await this.read(id, t, true);
      if (!current || current.version >= version) return false;
      const next = change(current);
      if (!next) return false;
      return this.index({ ...next, id, version }, { transaction: t });
    };
    return opts.transaction ? run(opts.transaction) : this.sequelize.transaction(run);
  }

  async remove(id: string, version: number, opts: WriteOptions = {}): Promise<boolean> {
    return this.update(id, version, (d) => ({ ...d, deleted: true }), opts);
  }

  async search(query: SearchQuery, { fresh = false }: SearchOptions = {}): Promise<SearchPage> {
    const plan = planSearch(query);
    const bind: unknown[] = [];
    const $ = (v: unknown) => `$${bind.push(v)}`;
    const where = ['searchable'];

    for (const term of plan.terms) {
      // A short term is letters and digits only (queryTerms): safe as a quoted tsquery lexeme.
      if (!isSubstringTerm(term)) where.push(`tsv @@ to_tsquery('simple', ${$(`${term}:*`)})`);
      else if ([...term].length === 2) where.push(`pairs @@ ${$(`'${term}'`)}::tsquery`);
      else {
        // In the text without its spaces (migration 0026's trigram index): `아이폰14` finds `아이폰 14`.
        if (matchesAcrossSpaces(term)) where.push(`search_compact LIKE ${$(`%${escapeLike(term)}%`)}`);
        else {
          // Without three letters or digits in a row the trigram index cannot narrow the word; its
          // 3-character pieces with punctuation can (migration 0022).
          where.push(`punct_grams @> search_punct_grams(${$(term)})`);
          where.push(`search_text LIKE ${$(`%${escapeLike(term)}%`)}`);
        }
      }
    }
    if (query.categoryPath) {
      // A prefix LIKE cannot use search_documents_category_recent in order (nor at all under a
      // non-C collation): a quiet leaf's feed walked the global recency index past tens of
      // thousands of other listings. One path is an equality, and an index range in order.
      const path = categoryPrefix(query.categoryPath);
      where.push(query.categoryLeaf ? `category_path = ${$(path)}` : `category_path LIKE ${$(`${escapeLike(path)}%`)}`);
    }
    if (query.minPrice !== undefined) where.push(`price >= ${$(query.minPrice)}`);
    if (query.maxPrice !== undefined) where.push(`price <= ${$(query.maxPrice)}`);
    if (query.free !== undefined) where.push(query.free ? 'price = 0' : 'price > 0');
    if (query.status) where.push(`status = ${$(query.status)}`);
    if (query.condition) where.push(`condition = ${$(query.condition)}`);
    if (query.tradeMethod) where.push(`${$(query.tradeMethod)} = ANY (trade_methods)`);
    // A few dongs, newest first, nothing else narrowing: one index range per dong on
    // search_documents_dong_recent (at most `limit + 1` rows each), merged. The global recency
    // index with a dong filter would read every other listing posted meanwhile (1,456 rows for
    // 15 Seoul dongs, docs/performance.md). With many dongs their listings are dense in the
    // global order and that plan is the cheaper one.
    const perDong = query.dongCodes !== undefined && query.dongCodes.length <= PER_DONG_MAX && query.sort === 'recent' && plan.terms.length === 0 && !query.categoryPath;
    // Nearest first over dongs whose points are given: a listing's distance is its dong's, so the
    // dongs are walked nearest first, each giving at most `limit + 1` listings by id, until the
    // page is full (an incremental sort over the walk stops there, one dong past it). Ordering
    // every listing in a 20 km radius read and sorted tens of thousands of rows on every page.
    // Within a dong, its rows through the dong index, then sorted (OFFSET 0 keeps the planner from
    // walking the primary key in id order, filtering on the dong: the whole table for a quiet
    // dong). Not with words, a category or a price range: those narrow through their own indexes
    // to fewer rows than a walk through sparse matches would read.
    const walk = query.sort === 'distance' && query.dongPoints !== undefined && query.origin !== undefined && !query.near
      && plan.terms.length === 0 && !query.categoryPath && query.minPrice === undefined && query.maxPrice === undefined;
    if (query.dongCodes && !perDong && !walk) where.push(`dong_code = ANY (${$(query.dongCodes)}::text[])`);
    if (perDong) where.push('dong_code = d.code');
    if (walk) where.push('dong_code = w.code');

    const origin = query.near ?? query.origin;
    let distance = 'NULL::float8';
    let point = '';
    if (origin) {
      point = `ll_to_earth(${$(origin.lat)}::float8, ${$(origin.lng)}::float8)`;
      distance = walk ? 'w.distance' : distanceSql('lat', 'lng', point);
      if (query.near) {
        const radius = $(query.near.radiusMeters);
        // The box is the index condition; the exact distance then trims its corners.
        where.push(`earth_box(${point}, ${radius}::float8) @> ll_to_earth(lat, lng)`, `${distance} <= ${radius}::float8`);
      }
    }

    const key = { recent: 'bumped_at', price_asc: 'price', price_desc: 'price', popular: 'like_count', distance }[query.sort];
    const dir = plan.sort.direction === 'asc' ? 'ASC' : 'DESC';
    if (plan.after) {
      const cast = query.sort === 'recent' ? '::timestamptz' : query.sort === 'distance' ? '::float8' : '::integer';
      where.push(`(${key}, id) ${dir === 'ASC' ? '>' : '<'} (${$(plan.after.value)}${cast}, ${$(plan.after.id)}::text)`);
    }
    const limit = $(query.limit + 1);
    const order = `ORDER BY ${key} ${dir}, id ${dir}`;
    // Per dong, only the keys (an index-only scan when the visibility map allows); the wide rows
    // and their distances only for the page.
    let sql: string;
    if (walk) {
      const dongs = query.dongPoints!;
      sql = `SELECT s.*, w.distance FROM (
           SELECT d.code, ${distanceSql('d.lat', 'd.lng', point)} AS distance
             FROM unnest(${$(dongs.map((d) => d.code))}::text[], ${$(dongs.map((d) => d.lat))}::float8[], ${$(dongs.map((d) => d.lng))}::float8[]) AS d(code, lat, lng)
            ORDER BY distance) w
         CROSS JOIN LATERAL (
           SELECT * FROM (SELECT ${LISTING_COLUMNS} FROM ${this.table} WHERE ${where.join(' AND ')} OFFSET 0) in_dong ORDER BY id LIMIT ${limit}) s
         ${plan.after ? `WHERE w.distance >= ${$(plan.after.value)}::float8` : ''}
         ORDER BY w.distance, s.id LIMIT ${limit}`;
    } else if (perDong) {
      sql = `SELECT ${LISTING_COLUMNS}, ${distance} AS distance FROM ${this.table} WHERE id IN (
           SELECT s.id FROM unnest(${$(query.dongCodes)}::text[]) AS d(code)
           CROSS JOIN LATERAL (SELECT id, bumped_at FROM ${this.table} WHERE ${where.join(' AND ')} ${order} LIMIT ${limit}) s
           ORDER BY s.bumped_at ${dir}, s.id ${dir} LIMIT ${limit}) ${order}`;
    } else {
      sql = `SELECT ${LISTING_COLUMNS}, ${distance} AS distance FROM ${this.table} WHERE ${where.join(' AND ')} ${order} LIMIT ${limit}`;
    }
    // The hot feeds (a leaf category's or a few dongs' newest first, no words, no price range)
    // have one best plan whatever the values: prepared, they skip PostgreSQL's planning, which
    // costs more than running them (platform/db/prepared.ts). Words, price ranges and category
    // prefixes need a plan per value.
    const stablePlan = query.sort === 'recent' && plan.terms.length === 0 && query.minPrice === undefined && query.maxPrice === undefined
      && (query.categoryPath === undefined || query.categoryLeaf === true) && (query.dongCodes === undefined || perDong);
    // Uncached pages may be answered by the read replica; a page to be cached reads the primary,
    // which the change announcements (NOTIFY from the feeder's commit) are in step with.
    const rows = stablePlan
      ? await selectPrepared<ListingRow>(this.sequelize, sql, bind, { replica: !fresh })
      : await this.sequelize.query<ListingRow>(sql, { bind, type: QueryTypes.SELECT, ...(fresh ? {} : READ_REPLICA) });
    const hits: SearchHit[] = rows.map((r) => {
      const hit: SearchHit = { doc: toListing(r) };
      if (r.distance !== null && r.distance !== undefined) hit.distanceMeters = Number(r.distance);
      return hit;
    });
    return toSearchPage(plan, hits);
  }

  async suggest(prefix: string, limit: number): Promise<Suggestion[]> {
    const p = normaliseText(prefix);
    if (!p) return [];
    const rows = await this.sequelize.query<{ title: string }>(
      `SELECT min(title) AS title
         FROM ${this.table}
        WHERE searchable AND (title_norm LIKE $1 OR title_norm LIKE $2)
        GROUP BY title_norm
        ORDER BY max(like_count) DESC, title_norm
        LIMIT $3`,
      { bind: [`${escapeLike(p)}%`, `% ${escapeLike(p)}%`, limit], type: QueryTypes.SELECT },
    );
    return rows.map((r) => ({ text: r.title }));
  }

  async rebuild(fill: (shadow: SearchIndexWriter) => Promise<void>): Promise<void> {
    const suffix = randomBytes(4).toString('hex');
    const shadow = `${this.table.slice(0, 40)}__rb_${suffix}`;
    const q = (sql: string, t?: Transaction) => this.sequelize.query(sql, { transaction: t });
    // Columns, defaults, generated columns and checks; indexes only after the fill (a bulk load
    // into an indexed table is several times slower), the valid ones (not a concurrent build's
    // leftover).
    await q(`CREATE TABLE ${shadow} (LIKE ${this.table} INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS)`);
    try {
      await q(`ALTER TABLE ${shadow} ADD CONSTRAINT ${shadow}_pkey PRIMARY KEY (id)`);
      await fill(new PostgresSearchIndex({ sequelize: this.sequelize, table: shadow }));
      const indexes = await this.sequelize.query<{ name: string; def: string }>(
        `SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
          WHERE x.indrelid = to_regclass($1) AND NOT x.indisprimary AND x.indisvalid`,
        { bind: [this.table], type: QueryTypes.SELECT },
      );
      const renames: [string, string, 'INDEX' | 'STATISTICS'][] = [];
      for (const [i, { name, def }] of indexes.entries()) {
        const temp = `${shadow}_i${i}`;
        const onShadow = def.replace(/^CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?(\S+\.)?\S+/, (_m, unique?: string) => `CREATE ${unique ?? ''}INDEX ${temp} ON ${shadow}`);
        await q(onShadow);
        renames.push([temp, name, 'INDEX']);
      }
      // CREATE TABLE … LIKE does not copy per-column statistics targets (migration 0014's).
      const targets = await this.sequelize.query<{ column: string; target: number }>(
        `SELECT attname AS column, attstattarget AS target FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND attstattarget > 0`,
        { bind: [this.table], type: QueryTypes.SELECT },
      );
      for (const { column, target } of targets) await q(`ALTER TABLE ${shadow} ALTER COLUMN "${column.replace(/"/g, `""`)}" SET STATISTICS ${Number(target)}`);
      // Nor extended statistics objects with their targets (none on the live table since
      // migration 0032; one added later must not vanish in a rebuild).
      const statistics = await this.sequelize.query<{ name: string; def: string; target: number }>(
        `SELECT stxname AS name, pg_get_statisticsobjdef(oid) AS def, stxstattarget AS target FROM pg_statistic_ext WHERE stxrelid = to_regclass($1)`,
        { bind: [this.table], type: QueryTypes.SELECT },
      );
      for (const [i, { name, def, target }] of statistics.entries()) {
        const temp = `${shadow}_s${i}`;
        await q(def.replace(/^CREATE STATISTICS \S+/, `CREATE STATISTICS ${temp}`).replace(/ FROM \S+$/, ` FROM ${shadow}`));
        if (target >= 0) await q(`ALTER STATISTICS ${temp} SET STATISTICS ${Number(target)}`);
        renames.push([temp, name, 'STATISTICS']);
      }
      await q(`ANALYZE ${shadow}`);
      await this.sequelize.transaction(async (t) => {
        // Waits for the live feeder's transactions; readers queue behind this for a moment only.
        await q(`LOCK TABLE ${this.table} IN ACCESS EXCLUSIVE MODE`, t);
        await q(`DROP TABLE ${this.table}`, t);
        await q(`ALTER TABLE ${shadow} RENAME TO ${this.table}`, t);
        // Renames the primary key's index with it.
        await q(`ALTER TABLE ${this.table} RENAME CONSTRAINT ${shadow}_pkey TO ${this.table}_pkey`, t);
        for (const [temp, name, kind] of renames) await q(`ALTER ${kind} ${temp} RENAME TO ${name}`, t);
      });
    } catch (err) {
      await q(`DROP TABLE IF EXISTS ${shadow}`).catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    // The Sequelize instance is the caller's.
  }

  private async read(id: string, transaction: Transaction | undefined, lock: boolean): Promise<SearchDocument | null> {
    const [row] = await this.sequelize.query<Row>(`SELECT ${COLUMNS} FROM ${this.table} WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, {
      bind: [id],
      type: QueryTypes.SELECT,
      transaction,
    });
    return row ? toDoc(row) : null;
  }
}
