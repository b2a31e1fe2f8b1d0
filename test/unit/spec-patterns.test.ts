import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// JSON Schema leaves open whether a `pattern` is matched by code point (ECMA-262's `u` flag) or
// by UTF-16 unit. Our validator (AJV 8) uses the flag; Postman's schema check (AJV 6 in newman's
// sandbox) and many generated clients do not. A pattern must mean the same in both, or a listing
// titled "🔥급처" passes the API and fails every QA suite and SDK that validates it.

type Json = unknown;
const spec = JSON.parse(readFileSync(path.join(__dirname, '../../generated/openapi.json'), 'utf8')) as Json;

/** Every `pattern` in the bundle, with where it sits. */
function patterns(node: Json, at = '#', out: { at: string; pattern: string }[] = []) {
  if (Array.isArray(node)) node.forEach((n, i) => patterns(n, `${at}/${i}`, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'pattern' && typeof v === 'string') out.push({ at, pattern: v });
      else patterns(v, `${at}/${k}`, out);
    }
  }
  return out;
}
const all = patterns(spec);
const unique = [...new Set(all.map((p) => p.pattern))];

const emojiTitles = ['🔥급처🔥 아이폰 14', '👩‍👩‍👧 가족 캠핑 텐트', '🇰🇷 국기', '👍🏽 좋아요', '𝕏 굿즈', '😀'];
const loneSurrogates = ['a\uD800b', '\uDC00', '\uDC00\uD800', '끝\uDBFF'];
const corpus = [...emojiTitles, ...loneSurrogates, '아이폰 14 프로 256GB', 'plain ascii', '', ' ', '\t', 'a\nb', 'a\u0001', 'é', '\u200B', 'cat_0123456789ABCDEF'];

// One unit: any code point, sometimes a lone surrogate, often something ASCII-ish so that
// structured patterns (ids, dates) get matches too.
const unit = fc.oneof(
  { arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), weight: 4 },
  { arbitrary: fc.integer({ min: 0, max: 0x10ffff }).filter((c) => c < 0xd800 || c > 0xdfff).map((c) => String.fromCodePoint(c)), weight: 3 },
  { arbitrary: fc.integer({ min: 0x1f300, max: 0x1faff }).map((c) => String.fromCodePoint(c)), weight: 2 },
  { arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), weight: 1 },
);

describe('patterns in the published description', () => {
  it('when the bundle is read, then it holds the text patterns this test is about', () => {
    expect(all.length).toBeGreaterThan(100);
    expect(all.some((p) => p.at.includes('ProductCreate/properties/title'))).toBe(true);
  });

  it('when any pattern is compiled with and without the u flag, then both accept the same strings of the corpus', () => {
    const disagreements: string[] = [];
    for (const p of unique) {
      const byCodePoint = new RegExp(p, 'u'), byUnit = new RegExp(p);
      for (const s of corpus) if (byCodePoint.test(s) !== byUnit.test(s)) disagreements.push(`${p} on ${JSON.stringify(s)}`);
    }
    expect(disagreements).toEqual([]);
  });

  it('when random strings with emoji and lone surrogates are matched, then every pattern agrees with itself across both modes', () => {
    const compiled = unique.map((p) => ({ p, u: new RegExp(p, 'u'), plain: new RegExp(p) }));
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 12 }).map((us) => us.join('')), (s) => {
        for (const { p, u, plain } of compiled) if (u.test(s) !== plain.test(s)) throw new Error(`${p} disagrees on ${JSON.stringify(s)}`);
      }),
      { numRuns: 2_000 },
    );
  });

  it('when a listing title has emoji, then a validator without the u flag accepts it; lone surrogates and blank titles are refused in both modes', () => {
    const schemas = (spec as { components: { schemas: Record<string, { properties: Record<string, object> }> } }).components.schemas;
    const title = schemas.ProductCreate!.properties.title!;
    for (const unicodeRegExp of [true, false]) {
      const validate = new Ajv({ unicodeRegExp, strict: false }).compile(title);
      for (const s of emojiTitles.filter((t) => [...t].length >= 2)) expect(validate(s), `${s} (u: ${unicodeRegExp})`).toBe(true);
      for (const s of ['아이폰\uD800 팝니다', '\uDC00\uD800 제목', '    ', 'a\u0001b']) expect(validate(s), `${JSON.stringify(s)} (u: ${unicodeRegExp})`).toBe(false);
    }
  });
});
