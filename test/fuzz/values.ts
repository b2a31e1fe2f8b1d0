import fc from 'fast-check';
import { deref, type OpenApiDoc, type Schema } from './spec';

/** Where a generated string goes; each transport allows a different set of characters. */
export type Where = 'json' | 'url' | 'header';

// ---------------------------------------------------------------------------------------------
// Odd Unicode. One unit is one code point (a lone surrogate counts as one, as JSON Schema counts
// it), so `minLength`/`maxLength` in units are exact in code points.
// ---------------------------------------------------------------------------------------------

const cp = (min: number, max: number) => fc.integer({ min, max }).map((c) => String.fromCodePoint(c));
const ascii = cp(0x20, 0x7e);
const korean = cp(0xac00, 0xd7a3); // 한글 syllables
const jamo = fc.oneof(cp(0x1100, 0x11ff), cp(0x3131, 0x318e));
const cjk = cp(0x4e00, 0x9fff);
const fullwidth = cp(0xff01, 0xff5e);
const emoji = fc.oneof(cp(0x1f300, 0x1f64f), cp(0x1f900, 0x1f9ff), fc.constantFrom('❤', '☕', '\u{1F1F0}', '\u{1F3FD}'));
/** RTL and bidi controls, zero-width characters, BOM, soft hyphen, combining marks, odd spaces, line separators. */
const marks = fc.constantFrom('\u200f', '\u200e', '\u202e', '\u202d', '\u2066', '\u2069', '\u061c', '\u200b', '\u200d', '\ufeff', '\u00ad', '\u0301', '\u0308', '\u3000', '\u00a0', '\u2028', '\u2029', '\u034f');
const rtlLetters = fc.oneof(cp(0x05d0, 0x05ea), cp(0x0627, 0x064a));
const c0 = fc.oneof(fc.constant('\u0000'), cp(0x01, 0x1f), fc.constant('\u007f'));
const c1 = cp(0x80, 0x9f);
const nonCharacters = fc.constantFrom('\ufffe', '\uffff', '\u{10ffff}', '\u{1fffe}', '\ufffd');
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const latin1High = cp(0xa0, 0xff);

const wellFormedUnit = fc.oneof(
  { arbitrary: ascii, weight: 30 },
  { arbitrary: korean, weight: 20 },
  { arbitrary: jamo, weight: 2 },
  { arbitrary: cjk, weight: 2 },
  { arbitrary: fullwidth, weight: 2 },
  { arbitrary: emoji, weight: 8 },
  { arbitrary: marks, weight: 8 },
  { arbitrary: rtlLetters, weight: 4 },
  { arbitrary: c0, weight: 5 },
  { arbitrary: c1, weight: 1 },
  { arbitrary: nonCharacters, weight: 2 },
);
const UNITS: Record<Where, fc.Arbitrary<string>> = {
  // JSON escapes anything, lone surrogates included (JSON.stringify writes them as \udXXX).
  json: fc.oneof({ arbitrary: wellFormedUnit, weight: 20 }, { arbitrary: loneSurrogate, weight: 1 }),
  // URLs carry UTF-8: a lone surrogate has no encoding there (see `Encoded` for raw bytes).
  url: wellFormedUnit,
  // Header values travel as Latin-1; the client refuses NUL/CR/LF and Node refuses other controls.
  header: fc.oneof({ arbitrary: ascii, weight: 6 }, { arbitrary: latin1High, weight: 2 }, { arbitrary: fc.constant('\t'), weight: 1 }),
};

export const codePoints = (s: string) => [...s].length;
const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether a string can travel in that place at all (the transport, not the schema). */
export function fits(where: Where, s: string): boolean {
  if (where === 'header') return /^[\x20-\x7e\x80-\xff\t]*$/.test(s) && s === s.replace(/^[ \t]+|[ \t]+$/g, '');
  if (where === 'url') return !LONE.test(s);
  return true;
}

export const oddString = (where: Where, minLength = 0, maxLength = 40, allowed?: RegExp) =>
  fc.string({ unit: allowed ? UNITS[where].filter((c) => allowed.test(c)) : UNITS[where], minLength, maxLength }).filter((s) => fits(where, s));

/** `^[class]*$` / `^[class]+$`: a pattern that only says which characters are allowed. */
const CHARACTER_CLASS_PATTERN = /^\^(\[(?:\\.|[^\]\\])+\])[*+]\$$/;
/** `^prefix[class]+$`: a literal prefix (possibly empty) and one repeated class, as tokens have. */
const TOKEN_PATTERN = /^\^([A-Za-z0-9_]*)(\[(?:\\.|[^\]\\])+\])([*+])\$$/;

// ---------------------------------------------------------------------------------------------
// JSON that JSON.stringify cannot write: huge arrays, deep nesting, out-of-range number literals.
// The oracle judges them by a small stand-in of the same shape.
// ---------------------------------------------------------------------------------------------

export class RawJson {
  constructor(
    readonly text: string,
    readonly standIn: unknown,
    readonly label: string,
  ) {}
}

export const hugeArray = fc
  .tuple(fc.integer({ min: 2_000, max: 120_000 }), fc.constantFrom('0', '""', '{}', '"가"', 'null'))
  .map(([n, item]) => new RawJson(`[${`${item},`.repeat(n - 1)}${item}]`, [JSON.parse(item), JSON.parse(item)], `array of ${n} × ${item}`));

export const deepNesting = fc.tuple(fc.integer({ min: 50, max: 20_000 }), fc.boolean()).map(([depth, arrays]) =>
  arrays
    ? new RawJson(`${'['.repeat(depth)}${']'.repeat(depth)}`, [[[]]], `${depth} nested arrays`)
    : new RawJson(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`, { a: { a: 1 } }, `${depth} nested objects`),
);

const hugeNumber = fc
  .constantFrom('1e400', '-1e400', '18446744073709551616', '-9223372036854775809', '1e-400', '123456789012345678901234567890.5', '0.1e1', '-0')
  .map((t) => new RawJson(t, JSON.parse(t), t));

/** Serialises a generated value: JSON, except RawJson parts, which are written as they are. */
export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`).join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/** What the oracle sees instead of RawJson parts. */
export function standIn(value: unknown): unknown {
  if (value instanceof RawJson) return value.standIn;
  if (Array.isArray(value)) return value.map(standIn);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: standIn(v), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}

/** A short description of a value for failure reports (huge strings are cut). */
export function preview(text: string, max = 300): string {
  const shown = JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
  return text.length > max ? `${shown} (${text.length} chars)` : shown;
}

// ---------------------------------------------------------------------------------------------
// Valid values, from the schema.
// ---------------------------------------------------------------------------------------------

const ANNOTATIONS = new Set([
  'description', 'examples', 'example', 'default', 'title', 'deprecated', 'readOnly', 'writeOnly', '$comment', 'externalDocs', 'xml',
  '$schema', '$id', 'contentMediaType', 'contentEncoding', 'discriminator',
]);
const UNDERSTOOD = new Set([
  '$ref', 'type', 'enum', 'const', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength', 'pattern', 'format',
  'items', 'minItems', 'maxItems', 'uniqueItems', 'properties', 'required', 'additionalProperties', 'unevaluatedProperties', 'minProperties',
  'maxProperties', 'anyOf', 'oneOf', 'allOf', 'nullable',
]);

/** A spec that starts using a keyword the generators do not know must fail loudly, not fuzz wrongly. */
function checkKeywords(schema: Schema, where: string): void {
  for (const key of Object.keys(schema)) {
    if (ANNOTATIONS.has(key) || UNDERSTOOD.has(key) || key.startsWith('x-')) continue;
    throw new Error(`fuzz: schema keyword '${key}' (at ${where}) is not understood by test/fuzz/values.ts; teach the generators about it`);
  }
}

const FORMATS: Record<string, () => fc.Arbitrary<string>> = {
  'date-time': () => fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  date: () => fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2999-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  email: () => fc.emailAddress(),
  uuid: () => fc.uuid(),
  uri: () => fc.webUrl(),
  url: () => fc.webUrl(),
  hostname: () => fc.domain(),
  ipv4: () => fc.ipV4(),
  ipv6: () => fc.ipV6(),
};
const INT_FORMATS: Record<string, [number, number]> = { int32: [-(2 ** 31), 2 ** 31 - 1], int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER] };

const typesOf = (schema: Schema): string[] => {
  if (Array.isArray(schema.type)) return schema.type as string[];
  if (typeof schema.type === 'string') return [schema.type, ...(schema.nullable === true ? ['null'] : [])];
  if (schema.properties || schema.additionalProperties !== undefined) return ['object'];
  if (schema.items) return ['array'];
  return ['string', 'integer', 'number', 'boolean', 'null', 'array', 'object'];
};

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** Merges `allOf` branches (and the siblings) into one schema: properties and required are united. */
function mergeAllOf(doc: OpenApiDoc, schema: Schema): Schema {
  const { allOf, ...rest } = schema;
  let merged: Schema = { ...rest };
  for (const raw of allOf as unknown[]) {
    const branch = deref(doc, raw);
    const next = branch.allOf ? mergeAllOf(doc, branch) : branch;
    merged = {
      ...merged,
      ...next,
      properties: { ...((merged.properties as object) ?? {}), ...((next.properties as object) ?? {}) },
      required: [...((merged.required as string[]) ?? []), ...((next.required as string[]) ?? [])],
    };
  }
  return merged;
}

export interface ValueOptions {
  doc: OpenApiDoc;
  where: Where;
  /** Cuts generation of unbounded strings and arrays; bounds from the schema always apply. */
  maxStringLength?: number;
  /**
   * Ids that exist (read from the API): a string with a pattern they match is often one of them,
   * so that a body naming a category, a buyer or photos can name real ones.
   */
  ids?: string[];
}

export function validValue(schemaIn: unknown, opts: ValueOptions, at = '#', depth = 0): fc.Arbitrary<unknown> {
  const schema = deref(opts.doc, schemaIn);
  checkKeywords(schema, at);
  if (schema.allOf) return validValue(mergeAllOf(opts.doc, schema), opts, at, depth);
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const branches = (schema.anyOf ?? schema.oneOf) as unknown[] | undefined;
  if (branches) {
    const { anyOf: _a, oneOf: _o, ...siblings } = schema;
    return fc.oneof(...branches.map((b, i) => validValue({ ...siblings, ...deref<Schema>(opts.doc, b as Schema) }, opts, `${at}/${schema.anyOf ? 'anyOf' : 'oneOf'}/${i}`, depth)));
  }
  const arbs = typesOf(schema).map((type) => validOfType(type, schema, opts, at, depth));
  return arbs.length === 1 ? arbs[0]! : fc.oneof(...arbs);
}

function validOfType(type: string, schema: Schema, opts: ValueOptions, at: string, depth: number): fc.Arbitrary<unknown> {
  switch (type) {
    case 'string':
      return validString(schema, opts, at);
    case 'integer': {
      const [fmin, fmax] = INT_FORMATS[String(schema.format)] ?? [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
      const exMin = num(schema.exclusiveMinimum);
      const exMax = num(schema.exclusiveMaximum);
      const min = Math.max(fmin, Math.ceil(num(schema.minimum) ?? -Infinity), exMin !== undefined ? Math.floor(exMin) + 1 : -Infinity);
      const max = Math.min(fmax, Math.floor(num(schema.maximum) ?? Infinity), exMax !== undefined ? Math.ceil(exMax) - 1 : Infinity);
      const step = num(schema.multipleOf);
      if (step) return fc.integer({ min: Math.ceil(min / step), max: Math.floor(max / step) }).map((k) => k * step);
      return fc.integer({ min, max });
    }
    case 'number': {
      const min = Math.max(num(schema.minimum) ?? -1e15, num(schema.exclusiveMinimum) ?? -Infinity);
      const max = Math.min(num(schema.maximum) ?? 1e15, num(schema.exclusiveMaximum) ?? Infinity);
      return fc.double({ min, max, noNaN: true, noDefaultInfinity: true, minExcluded: schema.exclusiveMinimum !== undefined, maxExcluded: schema.exclusiveMaximum !== undefined });
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const minLength = num(schema.minItems) ?? 0;
      const maxLength = Math.max(minLength, Math.min(num(schema.maxItems) ?? minLength + 4, minLength + (depth > 2 ? 0 : 4)));
      const item = validValue(schema.items ?? {}, opts, `${at}/items`, depth + 1);
      return schema.uniqueItems ? fc.uniqueArray(item, { minLength, maxLength, selector: (v) => JSON.stringify(v) }) : fc.array(item, { minLength, maxLength });
    }
    case 'object': {
      const properties = Object.entries((schema.properties ?? {}) as Record<string, unknown>).filter(([, s]) => deref(opts.doc, s).readOnly !== true);
      const required = ((schema.required ?? []) as string[]).filter((k) => properties.some(([name]) => name === k));
      const optional = properties.map(([k]) => k).filter((k) => !required.includes(k));
      const minKeys = Math.max(0, (num(schema.minProperties) ?? 0) - required.length);
      const maxKeys = Math.min(optional.length, (num(schema.maxProperties) ?? Infinity) - required.length);
      const byName = Object.fromEntries(properties.map(([k, s]) => [k, validValue(s, opts, `${at}/properties/${k}`, depth + 1)]));
      return fc
        .subarray(optional, { minLength: Math.min(minKeys, optional.length), maxLength: depth > 3 ? Math.min(minKeys, optional.length) : Math.max(0, maxKeys) })
        .chain((keys) => fc.record(Object.fromEntries([...required, ...keys].map((k) => [k, byName[k]!]))));
    }
    default:
      throw new Error(`fuzz: type '${type}' at ${at} is not understood`);
  }
}

function validString(schema: Schema, opts: ValueOptions, at: string): fc.Arbitrary<string> {
  const minLength = num(schema.minLength) ?? 0;
  const maxLength = Math.max(minLength, Math.min(num(schema.maxLength) ?? opts.maxStringLength ?? 60, minLength + 2_000));
  const inBounds = (s: string) => codePoints(s) >= minLength && codePoints(s) <= maxLength && fits(opts.where, s);
  // `password` only tells a UI to mask the value (OpenAPI data types); it constrains nothing, so
  // the length and pattern decide, as they do for the validator.
  if (schema.format !== undefined && schema.format !== 'password' && !(String(schema.format) in INT_FORMATS)) {
    const make = FORMATS[String(schema.format)];
    if (!make) throw new Error(`fuzz: string format '${String(schema.format)}' at ${at} has no generator in test/fuzz/values.ts`);
    return make().filter(inBounds);
  }
  const pattern = typeof schema.pattern === 'string' ? schema.pattern : undefined;
  const charClass = pattern ? CHARACTER_CLASS_PATTERN.exec(pattern)?.[1] : undefined;
  const allowed = charClass ? new RegExp(`^${charClass}$`, 'u') : undefined;
  const free = fc.oneof(
    { arbitrary: oddString(opts.where, minLength, Math.min(maxLength, minLength + 40), allowed), weight: 4 },
    // Right at the upper bound, where off-by-one and byte-vs-character bugs live.
    { arbitrary: oddString(opts.where, Math.max(minLength, maxLength - 2), maxLength, allowed), weight: 1 },
  );
  if (pattern === undefined) return free;
  const re = new RegExp(pattern, 'u');
  // A token pattern (`^rt_[A-Za-z0-9_-]+$`, a literal prefix and one repeated class) with a minimum
  // length is built from single matching characters: the regex generator rarely reaches the
  // minimum, and a filter waiting for it spins for ever.
  const token = TOKEN_PATTERN.exec(pattern);
  const matching = token
    ? fc
        .string({
          unit: fc.stringMatching(new RegExp(`^${token[2]!}$`, 'u')),
          minLength: Math.max(token[3] === '+' ? 1 : 0, minLength - token[1]!.length),
          maxLength: Math.max(1, maxLength - token[1]!.length),
        })
        .map((rest) => `${token[1]!}${rest}`)
        .filter((s) => inBounds(s) && re.test(s))
    : fc.stringMatching(re, { maxLength }).filter((s) => inBounds(s) && re.test(s));
  // Odd strings that happen to match a permissive pattern keep Korean, emoji and marks in play;
  // for a strict pattern (an id) almost none match, and only the regex generator is used.
  const hits = fc.sample(free, { numRuns: 200, seed: 7 }).filter((s) => re.test(s)).length;
  const generated = hits >= 40 ? fc.oneof(matching, free.filter((s) => re.test(s))) : matching;
  const known = (opts.ids ?? []).filter((id) => re.test(id) && inBounds(id));
  return known.length && hits < 40 ? fc.oneof({ arbitrary: fc.constantFrom(...known), weight: 2 }, { arbitrary: generated, weight: 1 }) : generated;
}

// ---------------------------------------------------------------------------------------------
// Candidates for invalid values. They are only candidates: the oracle keeps those that the
// schema really rejects, so these can be generous.
// ---------------------------------------------------------------------------------------------

const anyJson = fc.oneof(
  fc.constantFrom<unknown>(0, -1, 1.5, 2 ** 53, -(2 ** 31) - 1, 2 ** 31, 1e308, true, false, null, '', '0', 'true', 'null', [], {}, [1], { a: 1 }, [[]]),
  oddString('json', 0, 12),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  hugeNumber,
);

/** Values of the wrong JSON type, out of range, too long, too short, off-pattern or off-enum, for a JSON position. */
export function invalidJsonCandidates(schemaIn: unknown, doc: OpenApiDoc): fc.Arbitrary<unknown> {
  const schema = deref(doc, schemaIn);
  const candidates: fc.Arbitrary<unknown>[] = [anyJson, fc.oneof(hugeArray, deepNesting)];
  const types = typesOf(schema);
  const min = num(schema.minimum);
  const max = num(schema.maximum);
  if (types.includes('integer') || types.includes('number')) {
    if (min !== undefined) candidates.push(fc.integer({ min: 1, max: 1_000_000 }).map((d) => min - d), fc.constant(min - 0.5));
    if (max !== undefined) candidates.push(fc.integer({ min: 1, max: 1_000_000 }).map((d) => max + d), fc.constant(max + 0.5));
    candidates.push(fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)));
  }
  const maxLength = num(schema.maxLength);
  if (maxLength !== undefined) candidates.push(oddString('json', maxLength + 1, maxLength + 40));
  const minLength = num(schema.minLength);
  if (minLength) candidates.push(oddString('json', 0, minLength - 1));
  if (typeof schema.pattern === 'string' || Array.isArray(schema.enum)) candidates.push(oddString('json', 0, 30));
  const maxItems = num(schema.maxItems);
  if (maxItems !== undefined) candidates.push(fc.array(validValue(schema.items ?? {}, { doc, where: 'json' }), { minLength: maxItems + 1, maxLength: maxItems + 3 }));
  return fc.oneof(...candidates);
}

/** Strings the server will not accept for a parameter of this schema (kept only if the oracle agrees). */
export function invalidParameterCandidates(schemaIn: unknown, doc: OpenApiDoc, where: 'url' | 'header'): fc.Arbitrary<string> {
  const schema = deref(doc, schemaIn);
  const candidates: fc.Arbitrary<string>[] = [
    oddString(where, 0, 16),
    fc.constantFrom('', ' ', 'abc', 'true', 'null', 'NaN', 'Infinity', '-Infinity', '1.5', '-1', '1e999', '-', '+', '[]', '{}', '１', '٣', '1_000', '00000000000000000000000001x', '9'.repeat(400), '가나다', '\u202e1', '%'),
  ];
  const min = num(schema.minimum);
  const max = num(schema.maximum);
  if (min !== undefined) candidates.push(fc.integer({ min: 1, max: 1_000_000_000 }).map((d) => String(min - d)));
  if (max !== undefined) candidates.push(fc.integer({ min: 1, max: 1_000_000_000 }).map((d) => String(max + d)));
  if (min !== undefined || max !== undefined) candidates.push(fc.double({ noNaN: true }).map(String));
  const maxLength = num(schema.maxLength);
  if (maxLength !== undefined) candidates.push(oddString(where, maxLength + 1, maxLength + 60));
  const minLength = num(schema.minLength);
  if (minLength) candidates.push(oddString(where, 0, minLength - 1));
  if (typeof schema.pattern === 'string') {
    // Near misses of the pattern: a valid value with one character changed, dropped or added.
    const valid = validString(schema, { doc, where }, '#');
    candidates.push(
      fc.tuple(valid, fc.nat(), oddString(where, 1, 1)).map(([s, i, c]) => {
        const chars = [...s];
        const at = chars.length ? i % chars.length : 0;
        return [...chars.slice(0, at), c, ...chars.slice(at + 1)].join('');
      }),
      fc.tuple(valid, fc.nat()).map(([s, i]) => {
        const chars = [...s];
        return chars.filter((_, j) => j !== i % Math.max(1, chars.length)).join('');
      }),
      fc.tuple(valid, oddString(where, 1, 3), fc.boolean()).map(([s, c, front]) => (front ? c + s : s + c)),
    );
  }
  return fc.oneof(...candidates).filter((s) => fits(where, s));
}
