import type { Transaction } from 'sequelize';
import { cursorFingerprint, InvalidCursorError, openCursor, sealCursor } from '../pagination/cursor';

// The port for listing search: documents written by the index feeder in event order (each
// carrying the position of the last event applied as `version`), read by the feed and search
// endpoints. Two adapters honour it exactly: PostgreSQL (pg_trgm + full text + earthdistance,
// the default) and Elasticsearch (nori). test/contract/search-index.contract.ts is the proof.

export type ListingStatus = 'on_sale' | 'reserved' | 'sold' | 'hidden';
export type ListingCondition = 'new' | 'like_new' | 'used' | 'for_parts';
export type TradeMethod = 'meet_up' | 'parcel' | 'convenience_store';
export type SearchSort = 'recent' | 'price_asc' | 'price_desc' | 'popular' | 'distance';

export const SEARCH_SORTS: readonly SearchSort[] = ['recent', 'price_asc', 'price_desc', 'popular', 'distance'];

/** One listing as the index holds it. */
export interface SearchDocument {
  id: string;
  /** The position of the last event applied; writes with a lower or equal version are ignored. */
  version: number;
  sellerId: string;
  title: string;
  description: string;
  categoryId: string;
  /** Slug path from the root, e.g. `digital/phone` (no trailing slash). */
  categoryPath: string;
  price: number;
  condition: ListingCondition;
  tradeMethods: TradeMethod[];
  shippingFee: number;
  dongCode: string;
  dongName: string;
  /** The dong's representative point, never the seller's own. */
  lat: number;
  lng: number;
  status: ListingStatus;
  moderation: 'ok' | 'flagged';
  /** A tombstone: kept so that a late, older event cannot bring the listing back. */
  deleted: boolean;
  likeCount: number;
  chatCount: number;
  thumbnailUrl: string | null;
  /** ISO-8601 UTC. */
  bumpedAt: string;
  createdAt: string;
}

/** Only these are ever returned: hidden, flagged and deleted listings never are. */
export const isSearchable = (d: Pick<SearchDocument, 'deleted' | 'moderation' | 'status'>) => !d.deleted && d.moderation === 'ok' && d.status !== 'hidden';

export interface SearchQuery {
  /** Free text: every word must match (see normaliseText and docs/search.md). */
  q?: string;
  /** A category and everything under it, by slug path (`digital` matches `digital/phone`). */
  categoryPath?: string;
  /**
   * `categoryPath` has no sub-categories. The same listings match either way; PostgreSQL then
   * reads the category's own recency index in order instead of filtering the whole feed.
   */
  categoryLeaf?: boolean;
  minPrice?: number;
  maxPrice?: number;
  status?: Exclude<ListingStatus, 'hidden'>;
  condition?: ListingCondition;
  free?: boolean;
  tradeMethod?: TradeMethod;
  /** Within `radiusMeters` of a point (the dong points of the listings). */
  near?: { lat: number; lng: number; radiusMeters: number };
  /**
   * In one of these dongs (a neighbourhood and the dongs its range covers, or the dongs within a
   * radius of a point); an empty list matches nothing. At most every dong of Korea (3,526).
   */
  dongCodes?: string[];
  /** Where distances are measured from when not `near` (e.g. the centre of `dongCodes`). */
  origin?: { lat: number; lng: number };
  /**
   * The representative points of `dongCodes` (exactly those dongs), where the caller has them. A
   * listing's point is its dong's, so nearest first from `origin` is dong by dong, nearest dong
   * first: PostgreSQL then reads dongs until the page is full instead of ordering every listing
   * in them (docs/search.md). Not part of what a cursor names (the codes decide the points).
   */
  dongPoints?: readonly { code: string; lat: number; lng: number }[];
  sort: SearchSort;
  /** 1..100 */
  limit: number;
  cursor?: string;
}

/**
 * A listing as a search returns it: what a list shows of it (and its point, for distances).
 * Reading whole documents cost a feed page about a fifth of its CPU in parsing the description
 * and the other unshown columns (docs/performance.md, run 6).
 */
export type SearchListing = Pick<
  SearchDocument,
  'id' | 'title' | 'categoryId' | 'price' | 'condition' | 'dongCode' | 'dongName' | 'lat' | 'lng' | 'status' | 'likeCount' | 'chatCount' | 'thumbnailUrl' | 'bumpedAt'
>;

export interface SearchHit {
  doc: SearchListing;
  /** From `near` or `origin`, in metres, when one was given. */
  distanceMeters?: number;
}

export interface SearchPage {
  items: SearchHit[];
  nextCursor: string | null;
}

export interface Suggestion {
  text: string;
}

/** PostgreSQL writes join the caller's transaction (the feeder's inbox claim); Elasticsearch ignores it. */
export interface WriteOptions {
  transaction?: Transaction;
}

/** What the feeder writes through: the live index, or a shadow being rebuilt. */
export interface SearchIndexWriter {
  get(id: string, opts?: WriteOptions): Promise<SearchDocument | null>;
  /** Writes the whole document unless the stored one has a version >= doc.version; returns whether it was written. */
  index(doc: SearchDocument, opts?: WriteOptions): Promise<boolean>;
  /**
   * Writes the whole document unless the stored one has a higher version: a document rebuilt from
   * all its events replaces the stored one at its own version, which may have missed an event that
   * was delivered late (the feeder's repair). Returns whether it was written.
   */
  restore(doc: SearchDocument, opts?: WriteOptions): Promise<boolean>;
  /**
   * Read-modify-write of one document, atomic against concurrent writers (row lock in
   * PostgreSQL, sequence-number compare-and-set in Elasticsearch). `change` gets the current
   * document and returns the next one (its version is set to `version`), or null to leave it.
   * Nothing happens when the document is missing or already at `version` or later.
   */
  update(id: string, version: number, change: (current: SearchDocument) => SearchDocument | null, opts?: WriteOptions): Promise<boolean>;
  /** Tombstones the document (see `deleted`). */
  remove(id: string, version: number, opts?: WriteOptions): Promise<boolean>;
}

export interface SearchOptions {
  /**
   * The answer will be cached until the index next announces a change, so it must reflect every
   * write acknowledged so far: PostgreSQL reads the primary, not the replica. Without it, a read
   * may lag by the replica's delay (uncached pages).
   */
  fresh?: boolean;
}

export interface SearchIndex extends SearchIndexWriter {
  readonly kind: 'postgres' | 'elasticsearch';
  /**
   * Resolves once every write acknowledged before the call shows in searches (Elasticsearch: at
   * its next refresh). Absent where a write shows as soon as its transaction commits (PostgreSQL).
   */
  whenVisible?(): Promise<void>;
  /** Throws InvalidCursorError (400 invalid_cursor) for a cursor of another query or an altered one. */
  search(query: SearchQuery, options?: SearchOptions): Promise<SearchPage>;
  /** Titles of searchable listings that start with, or have a word starting with, `prefix`; most liked first. */
  suggest(prefix: string, limit: number): Promise<Suggestion[]>;
  /**
   * Fills a fresh empty index through `fill`, then swaps it in place of the live one in one
   * step (readers never see a half-built index) and drops the old one. Writes to the live index
   * during the fill are lost with it: the caller re-applies what happened meanwhile.
   */
  rebuild(fill: (shadow: SearchIndexWriter) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Shared by the adapters, so both normalise, validate and paginate in exactly the same way.

/**
 * What both adapters match on: NFKC (full-width Latin and compatibility jamo fold to their plain
 * forms), lower case (`iPhone` = `iphone`), whitespace collapsed.
 */
export const normaliseText = (s: string): string => s.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();

/**
 * The query's words, deduplicated, at most 8 (a longer query is a sentence, not a search). A
 * word of 3+ characters is matched as a substring, literally; a shorter one by its letters and
 * digits only (two: a substring; one: a word prefix); a word with neither is ignored.
 */
export const queryTerms = (q: string | undefined): string[] => {
  const words = normaliseText(q ?? '')
    .split(' ')
    .filter((w) => /[\p{L}\p{N}]/u.test(w))
    .map((w) => ([...w].length >= 3 ? w : w.replace(/[^\p{L}\p{N}]/gu, '')));
  return [...new Set(words)].slice(0, 8);
};

/**
 * Whether a term (from queryTerms) is matched as a substring (2+ characters: `가방` in
 * `노트북가방`), else as a word prefix (one character: a substring would match nearly everything).
 */
export const isSubstringTerm = (term: string): boolean => [...term].length >= 2;

/**
 * A word of 3+ characters with three letters or digits in a row matches the listing's text with
 * its spaces removed: `아이폰14` finds `아이폰 14 프로`, `원목식탁` finds `원목 식탁`, since buyers
 * and sellers space compounds and model numbers differently. Other words (`c++`) match as written.
 */
export const matchesAcrossSpaces = (term: string): boolean => [...term].length >= 3 && /[\p{L}\p{N}]{3}/u.test(term);

/** The normalised text without its spaces, which `matchesAcrossSpaces` words are matched in. */
export const withoutSpaces = (normalised: string): string => normalised.replace(/ /g, '');

/** A category path as stored and matched: with a trailing slash, so `digital/` never matches `digital-cameras/`. */
export const categoryPrefix = (path: string): string => `${path.replace(/\/+$/, '')}/`;

export type SortValue = string | number;

export interface SortSpec {
  direction: 'asc' | 'desc';
  /** The value of the sort key for a hit, as it goes into a cursor. */
  valueOf: (hit: SearchHit) => SortValue;
  /** Whether a cursor's value is one `valueOf` could have given: only such values reach a query's cast. */
  fits: (value: unknown) => value is SortValue;
}

// A checksum can be recomputed by anyone (platform/pagination/cursor.ts), so a cursor's value is
// checked as strictly as the column it is compared with: `1.5` or `1e12` would fail an integer
// cast and `"2026"` a timestamptz one, a 500 instead of 400 invalid_cursor.
const INT32_MAX = 2_147_483_647;
const isInt32 = (v: unknown): v is number => Number.isInteger(v) && Math.abs(v as number) <= INT32_MAX;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
/** A timestamp exactly as `toISOString` writes it (what `bumpedAt` holds), from year 1 (PostgreSQL has no year 0). */
const isIsoInstant = (v: unknown): v is string =>
  typeof v === 'string' && /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(v) && !Number.isNaN(Date.parse(v)) && new Date(v).toISOString() === v;

export const SORTS: Record<SearchSort, SortSpec> = {
  // Bumping (끌어올리기) moves a listing up: recency is the bump time, which starts as the creation time.
  recent: { direction: 'desc', valueOf: (h) => h.doc.bumpedAt, fits: isIsoInstant },
  price_asc: { direction: 'asc', valueOf: (h) => h.doc.price, fits: isInt32 },
  price_desc: { direction: 'desc', valueOf: (h) => h.doc.price, fits: isInt32 },
  popular: { direction: 'desc', valueOf: (h) => h.doc.likeCount, fits: isInt32 },
  distance: { direction: 'asc', valueOf: (h) => h.distanceMeters ?? 0, fits: isFiniteNumber },
};

export interface PlannedSearch {
  query: SearchQuery;
  terms: string[];
  sort: SortSpec;
  /** Strictly after this (sort value, id) in the sort order. */
  after?: { value: SortValue; id: string };
  fingerprint: string;
}

export class SearchQueryError extends Error {}

const MAX_DONG_CODES = 4_000;

/** Checks a query and decodes its cursor; adapters read `limit + 1` rows and hand them to toSearchPage. */
export function planSearch(query: SearchQuery): PlannedSearch {
  if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > 100) throw new SearchQueryError(`limit must be in 1..100, got ${query.limit}`);
  if (!SEARCH_SORTS.includes(query.sort)) throw new SearchQueryError(`unknown sort ${String(query.sort)}`);
  if (query.sort === 'distance' && !query.near && !query.origin) throw new SearchQueryError('sort=distance needs near or origin');
  if (query.dongCodes && query.dongCodes.length > MAX_DONG_CODES) throw new SearchQueryError(`dongCodes must hold at most ${MAX_DONG_CODES} codes`);
  if (query.dongPoints) {
    const codes = new Set(query.dongCodes);
    const pointed = new Set(query.dongPoints.map((d) => d.code));
    if (pointed.size !== query.dongPoints.length || pointed.size !== codes.size || ![...pointed].every((c) => codes.has(c))) {
      throw new SearchQueryError('dongPoints must give one point for each of dongCodes');
    }
  }
  const terms = queryTerms(query.q);
  const sort = SORTS[query.sort];
  // Everything that selects or orders rows, normalised, and nothing else (not limit, not cursor).
  const shape = (withOrigin: boolean) =>
    JSON.stringify([
      terms,
      query.categoryPath ? categoryPrefix(query.categoryPath) : null,
      query.minPrice ?? null,
      query.maxPrice ?? null,
      query.status ?? null,
      query.condition ?? null,
      query.free ?? null,
      query.tradeMethod ?? null,
      query.near ? [query.near.lat, query.near.lng, query.near.radiusMeters] : null,
      query.dongCodes ? [...query.dongCodes].sort() : null,
      withOrigin && query.origin ? [query.origin.lat, query.origin.lng] : null,
      query.sort,
    ]);
  // The origin only gives distances unless they order the rows: pages of the same dongs from two
  // points are one walk (a cached `near` page's cursor serves every point with its dongs).
  const fingerprint = cursorFingerprint(shape(query.sort === 'distance'));
  // Until 2026-11-28 the origin was bound into every cursor: those issued then (a client paging
  // through the deploy) are still taken.
  const formerFingerprint = query.origin && query.sort !== 'distance' ? cursorFingerprint(shape(true)) : undefined;
  const plan: PlannedSearch = { query, terms, sort, fingerprint };
  if (query.cursor !== undefined) plan.after = decodeCursor(plan, query.cursor, formerFingerprint);
  return plan;
}

/** The page from up to `limit + 1` hits read in sort order: the extra one only says there is more. */
export function toSearchPage(plan: PlannedSearch, hits: SearchHit[]): SearchPage {
  if (hits.length <= plan.query.limit) return { items: hits, nextCursor: null };
  const items = hits.slice(0, plan.query.limit);
  const last = items[items.length - 1]!;
  return { items, nextCursor: sealCursor('search', { value: plan.sort.valueOf(last), id: last.doc.id }, plan.fingerprint) };
}

/** The position after which the page starts; its value must fit the sort key's type (never a failing cast). */
function decodeCursor(plan: PlannedSearch, cursor: string, formerFingerprint?: string): { value: SortValue; id: string } {
  const { value, id } = openCursor('search', cursor, formerFingerprint ? [plan.fingerprint, formerFingerprint] : plan.fingerprint);
  if (!plan.sort.fits(value)) throw new InvalidCursorError('The cursor does not fit the sort.');
  return { value, id };
}

/** Great-circle distance in metres (the earthdistance sphere radius), for adapters that need it in code. */
export function metresBetween(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * 6_378_168 * Math.asin(Math.min(1, Math.sqrt(h)));
}
