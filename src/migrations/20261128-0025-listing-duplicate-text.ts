import type { Migration } from '../platform/db/migrator';

// What decides whether two listings of a seller are the same (docs/listings.md, Duplicates), in one
// place for both sides of the comparison: the stored rows and the text being posted or saved. Until
// now the new text was normalised in JS and the stored one by a separate SQL expression, and
// neither saw past a zero-width space or a changed full stop (`아이폰\u200b14`, `팝니다.`/`팝니다!`).
//
// Invisible and format characters (soft hyphen, zero-width characters and direction marks, word
// joiners, BOM, Hangul fillers, variation selectors, tag characters) are removed first, so that NFKC
// then composes what they kept apart; after NFKC (full-width forms and circled digits fold to
// ASCII) and lower-casing, every run of whitespace, ASCII punctuation and symbols, Latin-1
// punctuation, general punctuation, arrows and other symbols (U+2190–U+2BFF), CJK punctuation (not
// the letters in that block) and emoji becomes one space, and the ends are trimmed. A text made only
// of such characters (`★★`) keeps them, so that two such titles are not the same text.
// `\uXXXX`/`\UXXXXXXXX` are escapes of PostgreSQL's regular expressions, valid in bracket expressions.
const INVISIBLE = '[\\u00AD\\u034F\\u061C\\u115F\\u1160\\u180E\\u200B-\\u200F\\u2060-\\u206F\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\U000E0000-\\U000E007F\\U000E0100-\\U000E01EF]+';
const SEPARATORS =
  '[[:space:]\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E\\u00A1-\\u00BF\\u1680\\u2010-\\u205E\\u2190-\\u2BFF' +
  '\\u3000-\\u3004\\u3008-\\u3020\\u3030\\u3036\\u3037\\u303D-\\u303F\\U0001F000-\\U0001FAFF]+';

export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    CREATE FUNCTION listing_duplicate_text(t text) RETURNS text
      LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
      SET search_path = pg_catalog
      AS $fn$
        SELECT coalesce(nullif(btrim(regexp_replace(v, '${SEPARATORS}', ' ', 'g')), ''), btrim(regexp_replace(v, '[[:space:]]+', ' ', 'g')))
          FROM lower(normalize(regexp_replace(t, '${INVISIBLE}', '', 'g'), NFKC)) AS v
      $fn$;
  `);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP FUNCTION listing_duplicate_text(text);');
};
