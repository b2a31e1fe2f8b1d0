import { randomBytes } from 'node:crypto';
import { Client, errors, type estypes } from '@elastic/elasticsearch';
import type { Logger } from '../logger';
import {
  categoryPrefix,
  isSubstringTerm,
  matchesAcrossSpaces,
  metresBetween,
  normaliseText,
  withoutSpaces,
  planSearch,
  type PlannedSearch,
  toSearchPage,
  type SearchDocument,
  type SearchHit,
  type SearchIndex,
  type SearchIndexWriter,
  type SearchListing,
  type SearchPage,
  type SearchQuery,
  type Suggestion,
} from './search-index';

// The Elasticsearch adapter (used when ELASTICSEARCH_URL is set), honouring the same contract
// as the PostgreSQL one (test/contract/search-index.contract.ts):
// - readers and the feeder use an alias; a rebuild fills a fresh index and moves the alias in
//   one atomic `_aliases` call, then drops the old index;
// - each write is a compare-and-set on the document's sequence number (if_seq_no /
//   if_primary_term), with our event-position `version` checked in between, so concurrent
//   feeders neither lose an update nor let an older event overwrite a newer one;
// - word matching mirrors the PostgreSQL adapter (a 2+ character word is a substring, via a
//   `wildcard` field; a single character a word prefix, via edge n-grams of runs of letters and
//   digits), and for a word of Hangul only, the `nori` analysis
//   (decompound mixed) adds what only a morphological analyser finds: a word with a particle
//   attached (자전거를 → 자전거) or a compound's parts in the dictionary. Words with digits, Latin
//   letters or symbols stay literal: nori drops symbols (`100%` would be `100`).
// Requires the analysis-nori plugin on the cluster.

/** The document as stored in `_source`: the port's fields plus what the queries need. */
interface Source {
  id: string;
  version: number;
  seller_id: string;
  title: string;
  title_norm: string;
  description: string;
  search_text: string;
  search_compact: string;
  category_id: string;
  category_path: string;
  price: number;
  free: boolean;
  condition: SearchDocument['condition'];
  trade_methods: SearchDocument['tradeMethods'];
  shipping_fee: number;
  dong_code: string;
  dong_name: string;
  location: { lat: number; lon: number };
  status: SearchDocument['status'];
  moderation: SearchDocument['moderation'];
  deleted: boolean;
  searchable: boolean;
  like_count: number;
  chat_count: number;
  thumbnail_url: string | null;
  bumped_at: string;
  created_at: string;
}

/** The indices' `refresh_interval`: how long a write may stay invisible to searches. */
const REFRESH_INTERVAL_MS = 1_000;

/**
 * A document no search can return (not `searchable`), written with `refresh: wait_for` by
 * `whenVisible`: once it shows, so does every write acknowledged before it. That holds because
 * the index has one shard (a refresh is per shard).
 */
const VISIBILITY_BARRIER_ID = '~visibility-barrier';

export const SEARCH_INDEX_SETTINGS: estypes.IndicesIndexSettings = {
  // One: whenVisible's barrier document lives in one shard and tells of that shard's refresh only.
  number_of_shards: 1,
  // Explicit: left unset, an index that receives no searches for a while stops refreshing
  // (search-idle), and changes would show only once someone searched.
  refresh_interval: `${REFRESH_INTERVAL_MS}ms`,
  analysis: {
    tokenizer: {
      nori_mixed: { type: 'nori_tokenizer', decompound_mode: 'mixed', discard_punctuation: true },
      // Words for one-character prefixes: runs of letters and digits (`가죽,가방` and `(가방)` hold
      // the word 가방). Close to PostgreSQL's to_tsvector('simple'), which also splits at
      // punctuation but keeps host names, e-mail addresses, paths and decimals whole.
      letters_digits: { type: 'pattern', pattern: '[^\\p{L}\\p{N}]+' },
    },
    filter: {
      word_prefix: { type: 'edge_ngram', min_gram: 1, max_gram: 20 },
    },
    analyzer: {
      // Korean morphology: decompounds (keeping the compound too), drops particles and endings,
      // reads hanja as hangul.
      korean: { type: 'custom', tokenizer: 'nori_mixed', filter: ['nori_part_of_speech', 'nori_readingform', 'lowercase', 'cjk_width'] },
      // Short words: every prefix of every run of letters and digits.
      short_word_prefix: { type: 'custom', tokenizer: 'letters_digits', filter: ['lowercase', 'word_prefix'] },
      short_word: { type: 'custom', tokenizer: 'letters_digits', filter: ['lowercase'] },
      // Autocomplete: every prefix of every word, each at its word's position, so a phrase of
      // prefixes ("아이폰 1") matches word by word. Fed the normalised title (NFKC, lower case),
      // as the typed prefix is.
      word_prefix: { type: 'custom', tokenizer: 'whitespace', filter: ['word_prefix'] },
      word: { type: 'custom', tokenizer: 'whitespace' },
    },
  },
};

/**
 * Raised whenever the mapping or analysis changes. Mappings of existing fields cannot change in
 * place, and queries of fields an older index lacks match nothing: deploying a new version means
 * rebuilding the index (`node dist/modules/search/cli/rebuild.js`, docs/search.md). An older
 * index keeps serving meanwhile, and each process logs an error saying so. 2: the `wildcard`
 * substring field, words of letters and digits for prefixes, autocomplete on the normalised title.
 * 3: `search_compact`, the text without its spaces, for words of 3+ characters (`matchesAcrossSpaces`).
 */
export const SEARCH_MAPPING_VERSION = 3;

export const SEARCH_INDEX_MAPPINGS: estypes.MappingTypeMapping = {
  dynamic: 'strict',
  _meta: { junggo_mapping_version: SEARCH_MAPPING_VERSION },
  properties: {
    id: { type: 'keyword' },
    version: { type: 'long' },
    seller_id: { type: 'keyword' },
    title: { type: 'text', analyzer: 'korean' },
    title_norm: {
      type: 'keyword',
      fields: { autocomplete: { type: 'text', analyzer: 'word_prefix', search_analyzer: 'word' } },
    },
    description: { type: 'text', analyzer: 'korean' },
    search_text: {
      type: 'text',
      analyzer: 'korean',
      fields: {
        // Substrings, exactly as LIKE '%…%' finds them (ngram phrases would span word gaps).
        substring: { type: 'wildcard' },
        prefix: { type: 'text', analyzer: 'short_word_prefix', search_analyzer: 'short_word' },
      },
    },
    // The same text without its spaces: `아이폰14` finds `아이폰 14 프로` (as the PostgreSQL adapter's
    // expression index does). Written by the adapter: a wildcard field takes no normalizer that could.
    search_compact: { type: 'wildcard' },
    category_id: { type: 'keyword' },
    category_path: { type: 'keyword' },
    price: { type: 'integer' },
    free: { type: 'boolean' },
    condition: { type: 'keyword' },
    trade_methods: { type: 'keyword' },
    shipping_fee: { type: 'integer' },
    dong_code: { type: 'keyword' },
    dong_name: { type: 'keyword' },
    location: { type: 'geo_point' },
    status: { type: 'keyword' },
    moderation: { type: 'keyword' },
    deleted: { type: 'boolean' },
    searchable: { type: 'boolean' },
    like_count: { type: 'integer' },
    chat_count: { type: 'integer' },
    thumbnail_url: { type: 'keyword', index: false },
    bumped_at: { type: 'date' },
    created_at: { type: 'date' },
  },
};

const toSource = (d: SearchDocument): Source => {
  const titleNorm = normaliseText(d.title);
  const searchText = `${titleNorm} ${normaliseText(d.description)}`.trim();
  return {
    id: d.id,
    version: d.version,
    seller_id: d.sellerId,
    title: d.title,
    title_norm: titleNorm,
    description: d.description,
    search_text: searchText,
    search_compact: withoutSpaces(searchText),
    category_id: d.categoryId,
    category_path: categoryPrefix(d.categoryPath),
    price: d.price,
    free: d.price === 0,
    condition: d.condition,
    trade_methods: d.tradeMethods,
    shipping_fee: d.shippingFee,
    dong_code: d.dongCode,
    dong_name: d.dongName,
    location: { lat: d.lat, lon: d.lng },
    status: d.status,
    moderation: d.moderation,
    deleted: d.deleted,
    searchable: !d.deleted && d.moderation === 'ok' && d.status !== 'hidden',
    like_count: d.likeCount,
    chat_count: d.chatCount,
    thumbnail_url: d.thumbnailUrl,
    bumped_at: new Date(d.bumpedAt).toISOString(),
    created_at: new Date(d.createdAt).toISOString(),
  };
};

/** What a hit's `_source` holds (the request's `_source.includes`): a SearchListing's fields. */
const LISTING_SOURCE = ['id', 'title', 'category_id', 'price', 'condition', 'dong_code', 'dong_name', 'location', 'status', 'like_count', 'chat_count', 'thumbnail_url', 'bumped_at'] as const;
type ListingSource = Pick<Source, (typeof LISTING_SOURCE)[number]>;

const toListing = (s: ListingSource): SearchListing => ({
  id: s.id,
  title: s.title,
  categoryId: s.category_id,
  price: s.price,
  condition: s.condition,
  dongCode: s.dong_code,
  dongName: s.dong_name,
  lat: s.location.lat,
  lng: s.location.lon,
  status: s.status,
  likeCount: s.like_count,
  chatCount: s.chat_count,
  thumbnailUrl: s.thumbnail_url,
  bumpedAt: s.bumped_at,
});

const toDoc = (s: Source): SearchDocument => ({
  ...toListing(s),
  version: s.version,
  sellerId: s.seller_id,
  description: s.description,
  categoryPath: s.category_path.replace(/\/$/, ''),
  tradeMethods: s.trade_methods,
  shippingFee: s.shipping_fee,
  moderation: s.moderation,
  deleted: s.deleted,
  createdAt: s.created_at,
});

/** A word of Hangul syllables only: where nori's morphology adds matches without changing the word's meaning. */
const HANGUL_WORD = /^[\uAC00-\uD7A3]+$/;
/** `*`, `?` and `\` are the wildcard query's syntax; everything else is literal. */
const escapeWildcard = (term: string) => term.replace(/[*?\\]/g, '\\$&');

const isStatus = (err: unknown, status: number) => err instanceof errors.ResponseError && err.statusCode === status;

/**
 * The search request for a query: every filter in a `bool.filter` (no scoring: the order is the
 * requested sort), the sort with the id as tie-break, and the cursor as `search_after`. Pure, so
 * what the adapter asks Elasticsearch is tested without a cluster (test/unit/elasticsearch-request.test.ts).
 */
export function searchRequest(
  query: SearchQuery,
  index: string,
  /** False while the live index predates mapping version 3: its older documents have no `search_compact`. */
  { acrossSpaces = true }: { acrossSpaces?: boolean } = {},
): { plan: PlannedSearch; request: estypes.SearchRequest; origin: { lat: number; lng: number } | undefined } {
  const plan = planSearch(query);
  const filter: estypes.QueryDslQueryContainer[] = [{ term: { searchable: true } }];
  for (const term of plan.terms) {
    const literal: estypes.QueryDslQueryContainer = acrossSpaces && matchesAcrossSpaces(term)
      ? { wildcard: { search_compact: { value: `*${escapeWildcard(term)}*` } } }
      : isSubstringTerm(term)
        ? { wildcard: { 'search_text.substring': { value: `*${escapeWildcard(term)}*` } } }
        : { match: { 'search_text.prefix': { query: term, operator: 'and' } } };
    filter.push(HANGUL_WORD.test(term) ? { bool: { should: [literal, { match: { search_text: { query: term, operator: 'and' } } }], minimum_should_match: 1 } } : literal);
  }
  if (query.categoryPath) filter.push({ prefix: { category_path: categoryPrefix(query.categoryPath) } });
  if (query.minPrice !== undefined || query.maxPrice !== undefined) filter.push({ range: { price: { gte: query.minPrice, lte: query.maxPrice } } });
  if (query.free !== undefined) filter.push({ term: { free: query.free } });
  if (query.status) filter.push({ term: { status: query.status } });
  if (query.condition) filter.push({ term: { condition: query.condition } });
  if (query.tradeMethod) filter.push({ term: { trade_methods: query.tradeMethod } });
  if (query.dongCodes) filter.push({ terms: { dong_code: query.dongCodes } });
  const origin = query.near ?? query.origin;
  const point = origin ? { lat: origin.lat, lon: origin.lng } : undefined;
  if (query.near) filter.push({ geo_distance: { distance: `${query.near.radiusMeters}m`, location: point! } });

  const order = plan.sort.direction;
  const key: estypes.SortCombinations = {
    recent: { bumped_at: { order } },
    price_asc: { price: { order } },
    price_desc: { price: { order } },
    popular: { like_count: { order } },
    distance: { _geo_distance: { location: point!, order, unit: 'm' as const, distance_type: 'arc' as const } },
  }[query.sort];
  const sort: estypes.SortCombinations[] = [key, { id: { order } }];

  let searchAfter: estypes.SortResults | undefined;
  if (plan.after) {
    // Elasticsearch compares dates as epoch milliseconds.
    const value = query.sort === 'recent' ? Date.parse(String(plan.after.value)) : plan.after.value;
    searchAfter = [value, plan.after.id];
  }
  const request: estypes.SearchRequest = {
    index,
    size: query.limit + 1,
    track_total_hits: false,
    // A page from some shards only would be wrong silently, and so would its cursor.
    allow_partial_search_results: false,
    query: { bool: { filter } },
    sort,
    // What a list shows (SearchListing), not the whole document.
    _source: { includes: [...LISTING_SOURCE] },
    ...(searchAfter ? { search_after: searchAfter } : {}),
  };
  return { plan, request, origin: origin ? { lat: origin.lat, lng: origin.lng } : undefined };
}

export interface ElasticsearchSearchIndexOptions {
  url: string;
  /** The alias readers and the feeder use (default `junggo-listings`). */
  alias?: string;
  /** Make each write visible to search before it returns (tests); otherwise within the refresh interval (1 s). */
  refreshOnWrite?: boolean;
  log: Logger;
  /** A client of its own is made from `url` unless one is given. */
  client?: Client;
}

const CAS_ATTEMPTS = 8;
/**
 * How long a replaced index stays after the alias moved: a search that resolved the alias before
 * the swap and is between its query and fetch phases still reads it.
 */
const REPLACED_INDEX_GRACE_MS = 5_000;

export class ElasticsearchSearchIndex implements SearchIndex {
  readonly kind = 'elasticsearch' as const;
  private readonly client: Client;

  private readonly alias: string;
  /** whenVisible's barrier in flight, and the one to send after it (shared by every caller meanwhile). */
  private barrierSent: Promise<void> | null = null;
  private barrierNext: Promise<void> | null = null;
  private ready: Promise<void> | null = null;
  /**
   * Whether every index behind the alias has mapping version 3 (all documents carry
   * `search_compact`). An older one is given the field (so writes succeed and new documents
   * have it) but is searched the old way until a rebuild replaces it; checked again each minute.
   */
  private acrossSpaces = true;
  private mappingCheckedAt = 0;

  constructor(
    private readonly opts: ElasticsearchSearchIndexOptions,
    /** Writes go here: the alias, or a fresh index during a rebuild. */
    private readonly target?: string,
  ) {
    this.client = opts.client ?? new Client({ node: opts.url });
    this.alias = opts.alias ?? 'junggo-listings';
    if (!/^[a-z][a-z0-9_-]{0,100}$/.test(this.alias)) throw new Error(`bad index alias ${this.alias}`);
  }

  private get writeTarget(): string {
    return this.target ?? this.alias;
  }

  /** Creates the first index behind the alias when there is none; idempotent across processes. */
  private ensureIndex(): Promise<void> {
    if (this.target) return Promise.resolve();
    return (this.ready ??= (async () => {
      if (await this.client.indices.existsAlias({ name: this.alias })) return this.warnIfOutdated();
      try {
        // A fixed name, so two processes starting together create one index, not two behind one alias.
        await this.client.indices.create({ index: `${this.alias}-initial`, settings: SEARCH_INDEX_SETTINGS, mappings: SEARCH_INDEX_MAPPINGS, aliases: { [this.alias]: {} } });
      } catch (err) {
        if (!(err instanceof errors.ResponseError && err.body?.error?.type === 'resource_already_exists_exception')) throw err;
      }
    })().catch((err: unknown) => {
      this.ready = null;
      throw err;
    }));
  }

  private async warnIfOutdated(): Promise<void> {
    const mappings = await this.client.indices.getMapping({ index: this.alias });
    let current = true;
    for (const [index, { mappings: m }] of Object.entries(mappings)) {
      const version = Number(m._meta?.junggo_mapping_version ?? 1);
      if (version < SEARCH_MAPPING_VERSION) {
        current = false;
        // `dynamic: strict` refuses documents with unmapped fields; adding a field is allowed in place.
        if (!m.properties?.search_compact) await this.client.indices.putMapping({ index, properties: { search_compact: SEARCH_INDEX_MAPPINGS.properties!.search_compact! } });
        this.opts.log.error({ index, version, current: SEARCH_MAPPING_VERSION }, 'search index made with an older mapping answers some queries the old way or with nothing: rebuild it (node dist/modules/search/cli/rebuild.js)');
      }
    }
    this.acrossSpaces = current;
    this.mappingCheckedAt = Date.now();
  }

  /**
   * One write with `refresh: wait_for` (the barrier) instead of one per change: waiting on each
   * of the feeder's writes would hold every change up to a refresh interval, one after another.
   * A caller may share a barrier not yet sent, never one in flight (it may have been sent before
   * the caller's writes were acknowledged).
   */
  whenVisible(): Promise<void> {
    if (this.opts.refreshOnWrite) return Promise.resolve();
    this.barrierNext ??= (async () => {
      await this.barrierSent?.catch(() => undefined);
      this.barrierNext = null;
      const sent = (this.barrierSent = this.writeBarrier());
      try {
        await sent;
      } finally {
        if (this.barrierSent === sent) this.barrierSent = null;
      }
    })();
    return this.barrierNext;
  }

  private async writeBarrier(): Promise<void> {
    await this.ensureIndex();
    await this.client.index({
      index: this.writeTarget,
      id: VISIBILITY_BARRIER_ID,
      document: { id: VISIBILITY_BARRIER_ID, version: 0, deleted: true, searchable: false } satisfies Partial<Source>,
      refresh: 'wait_for',
      ...(this.writeTarget === this.alias ? { require_alias: true } : {}),
    });
  }

  async get(id: string): Promise<SearchDocument | null> {
    await this.ensureIndex();
    const found = await this.read(id);
    return found ? toDoc(found.source) : null;
  }

  async index(doc: SearchDocument): Promise<boolean> {
    return this.compareAndSet(doc.id, doc.version, () => doc, true);
  }

  async restore(doc: SearchDocument): Promise<boolean> {
    return this.compareAndSet(doc.id, doc.version, () => doc, true, true);
  }

  async update(id: string, version: number, change: (current: SearchDocument) => SearchDocument | null): Promise<boolean> {
    return this.compareAndSet(id, version, (current) => (current ? change(current) : null), false);
  }

  async remove(id: string, version: number): Promise<boolean> {
    return this.update(id, version, (d) => ({ ...d, deleted: true }));
  }

  private async compareAndSet(
    id: string,
    version: number,
    next: (current: SearchDocument | null) => SearchDocument | null,
    createIfMissing: boolean,
    sameVersionToo = false,
  ): Promise<boolean> {
    await this.ensureIndex();
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const found = await this.read(id);
      if (found && (sameVersionToo ? found.source.version > version : found.source.version >= version)) return false;
      if (!found && !createIfMissing) return false;
      const doc = next(found ? toDoc(found.source) : null);
      if (!doc) return false;
      try {
        await this.client.index({
          index: this.writeTarget,
          id,
          document: toSource({ ...doc, id, version }),
          ...(found ? { if_seq_no: found.seqNo, if_primary_term: found.primaryTerm } : { op_type: 'create' as const }),
          // Tests: visible before returning, at once (wait_for would wait up to a refresh interval).
          refresh: this.opts.refreshOnWrite ? true : false,
          // Through the alias only while it exists: were it gone, a write would create a concrete
          // index of that name with dynamic mappings, which no alias could then take.
          ...(this.writeTarget === this.alias ? { require_alias: true } : {}),
        });
        return true;
      } catch (err) {
        // Someone wrote in between: read again and decide again.
        if (isStatus(err, 409)) continue;
        throw err;
      }
    }
    throw new Error(`search index: too much contention writing ${id}`);
  }

  private async read(id: string): Promise<{ source: Source; seqNo: number; primaryTerm: number } | null> {
    const res = await this.client.get<Source>({ index: this.writeTarget, id }, { ignore: [404] });
    if (!res.found || !res._source) return null;
    return { source: res._source, seqNo: res._seq_no!, primaryTerm: res._primary_term! };
  }

  async search(query: SearchQuery): Promise<SearchPage> {
    await this.ensureIndex();
    // After a rebuild elsewhere swaps in a current index, this process finds out within a minute.
    if (!this.acrossSpaces && Date.now() - this.mappingCheckedAt > 60_000) {
      this.mappingCheckedAt = Date.now();
      await this.warnIfOutdated().catch((err: unknown) => this.opts.log.warn({ err }, 'could not read the search index mapping'));
    }
    const { plan, request, origin } = searchRequest(query, this.alias, { acrossSpaces: this.acrossSpaces });
    const res = await this.client.search<ListingSource>(request);
    const hits: SearchHit[] = res.hits.hits.map((h) => {
      const hit: SearchHit = { doc: toListing(h._source!) };
      // Sorted by distance: the sort value, which the cursor then carries exactly; otherwise
      // computed here for display (a third sort key would break search_after's tuple).
      const sorted = query.sort === 'distance' ? h.sort?.[0] : undefined;
      if (typeof sorted === 'number') hit.distanceMeters = sorted;
      else if (origin) hit.distanceMeters = metresBetween(origin, hit.doc);
      return hit;
    });
    return toSearchPage(plan, hits);
  }

  async suggest(prefix: string, limit: number): Promise<Suggestion[]> {
    await this.ensureIndex();
    const p = normaliseText(prefix);
    if (!p) return [];
    const res = await this.client.search<Source>({
      index: this.alias,
      size: limit,
      track_total_hits: false,
      allow_partial_search_results: false,
      query: { bool: { filter: [{ term: { searchable: true } }, { match_phrase: { 'title_norm.autocomplete': p } }] } },
      collapse: { field: 'title_norm' },
      sort: [{ like_count: { order: 'desc' } }, { title_norm: { order: 'asc' } }],
      _source: ['title'],
    });
    return res.hits.hits.map((h) => ({ text: h._source!.title }));
  }

  async rebuild(fill: (shadow: SearchIndexWriter) => Promise<void>): Promise<void> {
    await this.ensureIndex();
    const fresh = `${this.alias}-${Date.now()}-${randomBytes(3).toString('hex')}`;
    // No refresh while bulk filling; one at the end.
    await this.client.indices.create({ index: fresh, settings: { ...SEARCH_INDEX_SETTINGS, refresh_interval: '-1' }, mappings: SEARCH_INDEX_MAPPINGS });
    let previous: string[];
    try {
      await fill(new ElasticsearchSearchIndex({ ...this.opts, client: this.client, refreshOnWrite: false }, fresh));
      await this.client.indices.putSettings({ index: fresh, settings: { refresh_interval: `${REFRESH_INTERVAL_MS}ms` } });
      await this.client.indices.refresh({ index: fresh });
      previous = Object.keys(await this.client.indices.getAlias({ name: this.alias }));
      // must_exist: if another rebuild moved the alias since it was read, the whole call fails
      // (without it, ES 8.14+ answers 200 with `errors`, having added the alias to `fresh` beside
      // the other rebuild's index: an alias on two indexes, which cannot be written through).
      const swapped = await this.client.indices.updateAliases({
        actions: [...previous.map((index) => ({ remove: { index, alias: this.alias, must_exist: true } })), { add: { index: fresh, alias: this.alias } }],
      });
      if (!swapped.acknowledged || (swapped as { errors?: boolean }).errors) throw new Error(`search index: the alias swap to ${fresh} was not applied whole`);
    } catch (err) {
      // Only while `fresh` is not live: a swap applied whose answer was lost made it the live index.
      const live = await this.client.indices
        .getAlias({ name: this.alias })
        .then((r) => Object.keys(r))
        .catch(() => [fresh]);
      if (!live.includes(fresh)) await this.client.indices.delete({ index: fresh }, { ignore: [404] }).catch(() => undefined);
      throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, REPLACED_INDEX_GRACE_MS));
    // Best effort: an old index left behind wastes space but serves nobody (the alias moved).
    for (const index of previous) {
      await this.client.indices.delete({ index }, { ignore: [404] }).catch((err: unknown) => this.opts.log.warn({ err, index }, 'search index: could not delete the replaced index'));
    }
  }

  async close(): Promise<void> {
    if (!this.opts.client && !this.target) await this.client.close();
  }
}
