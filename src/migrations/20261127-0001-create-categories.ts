import type { Migration } from '../platform/db/migrator';

export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    CREATE TABLE categories (
      id          text PRIMARY KEY,
      parent_id   text REFERENCES categories (id) ON DELETE RESTRICT,
      name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 50),
      slug        text NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
      depth       smallint NOT NULL CHECK (depth BETWEEN 0 AND 5),
      path        text NOT NULL UNIQUE,
      sort_order  integer NOT NULL CHECK (sort_order BETWEEN 0 AND 10000),
      created_at  timestamptz NOT NULL DEFAULT now(),
      updated_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX categories_parent_sort ON categories (parent_id, sort_order);

    -- Whoever changes the tree (a migration, an admin, psql), API processes hear of it and
    -- drop their cached copy.
    CREATE FUNCTION notify_categories_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('categories_changed', '');
      RETURN NULL;
    END $$;
    CREATE TRIGGER categories_changed
      AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON categories
      FOR EACH STATEMENT EXECUTE FUNCTION notify_categories_changed();
  `);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    DROP TABLE categories;
    DROP FUNCTION notify_categories_changed();
  `);
};
