import type { Migration } from '../platform/db/migrator';

// A keyword alert is looked up by one anchor gram, which every listing holding it reads. It was
// the first bigram of the keyword's longest word, so `아이스박스`, `아이패드 미니`, `아이폰 케이스`
// and `아이맥 27` all had `아이`, and every 아이폰 listing read them all only to drop them (and
// 30 never-matching alerts per account like `아이폰맥스프로울트라 zq` cost every such listing).
// Now it is the keyword's rarest gram in listing titles (keywordAnchor; docs/keyword-alerts.md).
//
// How common a gram is comes from the statistics of an expression over products.title: the
// title's grams as keyword matching sees them (every character and every pair of adjacent ones of
// the title without spaces and punctuation). ANALYZE keeps, as for any array, its most common
// elements with the share of rows holding each; autovacuum refreshes them, nothing is stored per
// row and writes cost nothing more. The function is an estimate: its letters are the database's
// (C.UTF-8), not JavaScript's \p{L}\p{N}, which only moves a gram's count, never a match.
//
// The anchors of the existing alerts are chosen again by the same rule (any gram of an alert is a
// correct anchor; only alerts whose anchor changes are written). Each statement on its own (no
// transaction around them: VACUUM cannot run in one). On 220,000 listings and 48,000 alerts:
// ANALYZE products 0.5 s → 1.9 s (the expression costs every ANALYZE ~1.3 s, on its 30,000-row
// sample), the anchors ~1.6 s.
export const up: Migration = async ({ context: { sequelize } }) => {
  const q = (sql: string) => sequelize.query(sql);
  await q(`
    CREATE OR REPLACE FUNCTION keyword_title_grams(title text) RETURNS text[]
      LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
      SET search_path = pg_catalog
      AS $fn$
        SELECT coalesce(array_agg(DISTINCT substr(c, i, n)), '{}'::text[])
          FROM regexp_replace(lower(normalize(title, NFKC)), '[^[:alnum:]]+', '', 'g') AS c,
               generate_series(1, 2) AS n,
               generate_series(1, char_length(c) - n + 1) AS i
      $fn$`);
  await q('CREATE STATISTICS IF NOT EXISTS keyword_title_grams ON (keyword_title_grams(title)) FROM products');
  await q('ANALYZE products');
  // keywordAnchor's rule: the lowest share (none: rarer than any counted), then a bigram over a
  // one-character gram, then the last.
  await q(`
    WITH shares AS (
      SELECT e.gram, e.share
        FROM pg_stats_ext_exprs s,
             unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS e(gram, share)
       WHERE s.tablename = 'products' AND s.statistics_name = 'keyword_title_grams' AND e.gram IS NOT NULL),
    rarest AS (
      SELECT DISTINCT ON (a.id) a.id, k.gram
        FROM keyword_alerts a
        CROSS JOIN LATERAL unnest(a.grams) WITH ORDINALITY AS k(gram, i)
        LEFT JOIN shares s ON s.gram = k.gram
       ORDER BY a.id, coalesce(s.share, 0), char_length(k.gram) = 1, k.i DESC)
    UPDATE keyword_alerts a SET anchor = r.gram FROM rarest r WHERE r.id = a.id AND a.anchor <> r.gram`);
  // The old anchors' index entries point at dead rows until vacuumed, and every listing holding
  // `아이` would still visit them meanwhile.
  await q('VACUUM ANALYZE keyword_alerts');
};

// The anchors stay: any gram of an alert is a correct anchor for the code before this migration.
export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP STATISTICS IF EXISTS keyword_title_grams; DROP FUNCTION IF EXISTS keyword_title_grams(text);');
};
