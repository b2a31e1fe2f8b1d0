import type { Migration } from '../platform/db/migrator';

// Words of 3+ characters without three letters or digits in a row (`c++`, `1.5`, `a--`, `ab-c`)
// gave the trigram index nothing to narrow by: pg_trgm keeps only runs of letters and digits, so
// `LIKE '%c++%'` read every listing (270–450 ms of database time on 200,000; docs/search.md).
//
// `punct_grams`: every 3-character piece of the text's words (split at whitespace) that holds a
// character other than a letter or digit, GIN-indexed. Every 3-character piece of such a query
// word holds one (it has no three letters or digits in a row), so "the word occurs in the text"
// implies "all its pieces are among the text's", one index lookup; LIKE then checks the word
// itself. The query's pieces come from the same function, so both sides agree on what a letter is.
export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    CREATE FUNCTION search_punct_grams(t text) RETURNS text[]
      LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
      SET search_path = pg_catalog
      AS $fn$
        SELECT coalesce(array_agg(DISTINCT g), '{}'::text[])
          FROM regexp_split_to_table(t, '\\s+') AS w, generate_series(1, length(w) - 2) AS i, substr(w, i, 3) AS g
         WHERE g ~ '[^[:alnum:]]'
      $fn$;
    ALTER TABLE search_documents ADD COLUMN punct_grams text[] GENERATED ALWAYS AS (search_punct_grams(search_text)) STORED;
    CREATE INDEX search_documents_punct_grams ON search_documents USING gin (punct_grams) WHERE searchable;
    ANALYZE search_documents;
  `);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('ALTER TABLE search_documents DROP COLUMN punct_grams; DROP FUNCTION search_punct_grams(text);');
};
