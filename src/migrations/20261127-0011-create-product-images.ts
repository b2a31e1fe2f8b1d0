import type { Migration } from '../platform/db/migrator';

export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    -- Photos of listings (docs/photos.md). Files live in the object storage under the keys below;
    -- this table is the command side, and product.images_changed carries the ready ones to readers.
    CREATE TABLE product_images (
      id              text PRIMARY KEY,
      product_id      text NOT NULL REFERENCES products (id),
      seller_id       text NOT NULL REFERENCES users (id),
      -- The upload as sent, EXIF and GPS position included: private, and deleted (NULL here) as
      -- soon as processing ends, either way.
      original_key    text,
      display_key     text,
      thumb_key       text,
      -- Detected from the file's bytes, never taken from the client.
      content_type    text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp', 'image/heic')),
      bytes           integer NOT NULL CHECK (bytes > 0),
      -- Of the display version, once ready.
      width           integer CHECK (width > 0),
      height          integer CHECK (height > 0),
      -- Dense from 0 among a listing's live photos (deletes close the gap).
      position        smallint NOT NULL CHECK (position BETWEEN 0 AND 9),
      status          text NOT NULL DEFAULT 'processing' CHECK (status IN ('processing', 'ready', 'failed')),
      failure_reason  text,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      deleted_at      timestamptz,
      CHECK (status <> 'ready' OR (display_key IS NOT NULL AND thumb_key IS NOT NULL AND width IS NOT NULL AND height IS NOT NULL)),
      CHECK (status <> 'failed' OR failure_reason IS NOT NULL)
    );
    CREATE INDEX product_images_live ON product_images (product_id, position) WHERE deleted_at IS NULL;
  `);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP TABLE product_images');
};
