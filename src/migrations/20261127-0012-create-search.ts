import type { Migration } from '../platform/db/migrator';

// The search index's PostgreSQL adapter (src/platform/search/postgres-search-index.ts) and the
// popular-query counts behind suggestions. Fed from product events only: no foreign key to
// `products`, so a replay can build it before (or without) the command-side rows.
export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    -- cube/earthdistance come with the dongs migration; repeated so this one stands alone.
    CREATE EXTENSION IF NOT EXISTS cube;
    CREATE EXTENSION IF NOT EXISTS earthdistance;

    CREATE TABLE search_documents (
      id             text PRIMARY KEY,
      version        bigint NOT NULL,                 -- position of the last event applied
      seller_id      text NOT NULL,
      title          text NOT NULL,
      description    text NOT NULL DEFAULT '',
      category_id    text NOT NULL,
      category_path  text NOT NULL,                   -- 'digital/phone/': with the trailing slash, a LIKE prefix never matches a sibling
      price          integer NOT NULL,
      free           boolean GENERATED ALWAYS AS (price = 0) STORED,
      condition      text NOT NULL,
      trade_methods  text[] NOT NULL DEFAULT '{}',
      shipping_fee   integer NOT NULL DEFAULT 0,
      dong_code      text NOT NULL,
      dong_name      text NOT NULL DEFAULT '',
      lat            double precision NOT NULL,
      lng            double precision NOT NULL,
      status         text NOT NULL,
      moderation     text NOT NULL DEFAULT 'ok',
      deleted        boolean NOT NULL DEFAULT false,  -- a tombstone, so a late older event cannot bring it back
      like_count     integer NOT NULL DEFAULT 0,
      chat_count     integer NOT NULL DEFAULT 0,
      thumbnail_url  text,
      bumped_at      timestamptz NOT NULL,
      created_at     timestamptz NOT NULL,
      -- NFKC, lower-cased, whitespace-collapsed (the adapter writes them): what trigrams and LIKE see.
      title_norm     text NOT NULL,
      search_text    text NOT NULL,                   -- title_norm + description
      tsv            tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED,
      searchable     boolean GENERATED ALWAYS AS (NOT deleted AND moderation = 'ok' AND status IN ('on_sale', 'reserved', 'sold')) STORED
    );

    -- Substring matches of query words of 3+ characters (Korean partial words: 아이폰, 자전거).
    CREATE INDEX search_documents_trgm ON search_documents USING gin (search_text gin_trgm_ops) WHERE searchable;
    -- Word-prefix matches of shorter words (가방, 폰), where trigrams cannot help.
    CREATE INDEX search_documents_tsv ON search_documents USING gin (tsv) WHERE searchable;
    -- Autocomplete: titles starting with, or with a word starting with, what was typed.
    CREATE INDEX search_documents_title_trgm ON search_documents USING gin (title_norm gin_trgm_ops) WHERE searchable;
    -- near= and sort=distance: the earth_box pre-filter.
    CREATE INDEX search_documents_earth ON search_documents USING gist (ll_to_earth(lat, lng)) WHERE searchable;
    -- One per sort, each in the keyset order (sort key, id), so a page is an index range.
    CREATE INDEX search_documents_recent ON search_documents (bumped_at DESC, id DESC) WHERE searchable;
    CREATE INDEX search_documents_price ON search_documents (price, id) WHERE searchable;
    CREATE INDEX search_documents_popular ON search_documents (like_count DESC, id DESC) WHERE searchable;
    -- Category feeds (the hottest read): a leaf category is one path, read in recency order.
    CREATE INDEX search_documents_category_recent ON search_documents (category_path, bumped_at DESC, id DESC) WHERE searchable;
    -- Neighbourhood feeds: a handful of dongs.
    CREATE INDEX search_documents_dong_recent ON search_documents (dong_code, bumped_at DESC, id DESC) WHERE searchable;

    -- What people search for, normalised, for suggestions.
    CREATE TABLE search_queries (
      query       text PRIMARY KEY,
      searches    integer NOT NULL DEFAULT 0,
      last_at     timestamptz NOT NULL DEFAULT now()
    );
    -- Prefix lookups (C collation: a LIKE 'x%' is a btree range).
    CREATE INDEX search_queries_prefix ON search_queries (query text_pattern_ops, searches DESC);
  `);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP TABLE search_queries; DROP TABLE search_documents;');
};
