import type { Migration } from '../platform/db/migrator';

// Two-character words anywhere in a listing, not only at a word's start: `가방` finds
// `노트북가방`, `의자` finds `캠핑의자`. Korean compounds are written without spaces and many useful
// words have two syllables; trigrams (LIKE '%…%') need three characters to use an index.
//
// `pairs`: every pair of adjacent characters within each run of letters and digits of
// `search_text`, as a tsvector, so that "`xy` occurs in the text" is one GIN lookup of the lexeme
// `xy` (a two-character word of letters and digits cannot span anything else). `[:alnum:]`
// follows the database's character type, which is C.UTF-8 (Unicode classes) here and in
// docker-compose; to_tsvector's parser, behind one-character words, depends on it the same way.
export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    CREATE FUNCTION search_pairs(t text) RETURNS tsvector
      LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
      SET search_path = pg_catalog
      AS $fn$
        SELECT coalesce(array_to_tsvector(array_agg(DISTINCT substr(w, i, 2))), ''::tsvector)
          FROM regexp_split_to_table(t, '[^[:alnum:]]+') AS w, generate_series(1, length(w) - 1) AS i
      $fn$;
    ALTER TABLE search_documents ADD COLUMN pairs tsvector GENERATED ALWAYS AS (search_pairs(search_text)) STORED;
    CREATE INDEX search_documents_pairs ON search_documents USING gin (pairs) WHERE searchable;
    ANALYZE search_documents;
  `);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('ALTER TABLE search_documents DROP COLUMN pairs; DROP FUNCTION search_pairs(text);');
};
