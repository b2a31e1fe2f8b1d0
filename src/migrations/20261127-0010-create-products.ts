import type { Migration } from '../platform/db/migrator';

export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    -- similarity() for the duplicate-listing check (and the search adapter's trigram indexes).
    CREATE EXTENSION IF NOT EXISTS pg_trgm;

    -- The command side of a listing. The rich detail readers see is the product_details document
    -- (projected from this table's events); other components add tables referencing this one and
    -- never alter it (docs/listings.md, catalog contract).
    CREATE TABLE products (
      id              text PRIMARY KEY,
      seller_id       text NOT NULL REFERENCES users (id),
      title           text NOT NULL,
      description     text NOT NULL DEFAULT '',
      category_id     text NOT NULL REFERENCES categories (id),
      price           integer NOT NULL CHECK (price >= 0),
      offers_allowed  boolean NOT NULL DEFAULT true,
      condition       text NOT NULL CHECK (condition IN ('new', 'like_new', 'used', 'for_parts')),
      trade_methods   text[] NOT NULL,
      shipping_fee    integer NOT NULL DEFAULT 0 CHECK (shipping_fee >= 0),
      dong_code       text NOT NULL REFERENCES dongs (code),
      -- The dong's representative point, never the seller's own position.
      lat             double precision NOT NULL,
      lng             double precision NOT NULL,
      quantity        integer NOT NULL DEFAULT 1 CHECK (quantity >= 0),
      status          text NOT NULL DEFAULT 'on_sale' CHECK (status IN ('on_sale', 'reserved', 'sold', 'hidden')),
      buyer_id        text REFERENCES users (id),
      moderation      text NOT NULL DEFAULT 'ok' CHECK (moderation IN ('ok', 'flagged')),
      like_count      integer NOT NULL DEFAULT 0,
      view_count      integer NOT NULL DEFAULT 0,
      chat_count      integer NOT NULL DEFAULT 0,
      bumped_at       timestamptz NOT NULL DEFAULT now(),
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      -- Soft delete: orders and reviews keep pointing at the row.
      deleted_at      timestamptz,
      version         integer NOT NULL DEFAULT 1
    );
    -- A seller's listings page, the daily posting limit and the duplicate check.
    CREATE INDEX products_seller_created ON products (seller_id, created_at DESC, id DESC);
    -- Recency feeds ("bumped to the top") over live listings.
    CREATE INDEX products_recent ON products (status, bumped_at DESC, id DESC) WHERE deleted_at IS NULL;
    CREATE INDEX products_category ON products (category_id, bumped_at DESC, id DESC) WHERE deleted_at IS NULL;
    CREATE INDEX products_dong ON products (dong_code, bumped_at DESC, id DESC) WHERE deleted_at IS NULL;
    CREATE INDEX products_flagged ON products (created_at) WHERE moderation = 'flagged' AND deleted_at IS NULL;
  `);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP TABLE products');
};
