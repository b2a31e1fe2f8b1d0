import fc from 'fast-check';
import { deref, type FuzzOperation, type OpenApiDoc, type Schema } from './spec';
import { oddString, preview } from './values';

// multipart/form-data bodies (RFC 7578) built from the request schema: one part per file of a
// `format: binary` property, with odd file names and declared types, and ways to break the form.

/** One part of a form: a file when it has a file name, a text field otherwise. */
export interface FormPart {
  name: string;
  filename?: string;
  /** `filename*=UTF-8''…` (RFC 5987) instead of a quoted `filename`. */
  extendedFilename?: boolean;
  contentType?: string;
  data: Buffer;
  /** What the data is, for reports (the bytes themselves are not printed). */
  label: string;
}

export interface Form {
  /** The boundary the body uses (the Content-Type header may say otherwise). */
  boundary: string;
  parts: FormPart[];
  /** The body is cut after this many bytes (an interrupted upload). */
  cut?: number;
  /** The closing delimiter (`--boundary--`) is left out. */
  unclosed?: boolean;
  /** Raw bytes sent instead of the form (garbage under a multipart Content-Type). */
  raw?: Buffer;
}

const CRLF = '\r\n';

const quoted = (s: string) => s.replace(/[\\"]/g, (c) => `\\${c}`);

function partHead(boundary: string, p: FormPart): string {
  let disposition = `form-data; name="${quoted(p.name)}"`;
  if (p.filename !== undefined) {
    disposition += p.extendedFilename ? `; filename*=UTF-8''${encodeURIComponent(p.filename)}` : `; filename="${quoted(p.filename)}"`;
  }
  return `--${boundary}${CRLF}Content-Disposition: ${disposition}${CRLF}${p.contentType !== undefined ? `Content-Type: ${p.contentType}${CRLF}` : ''}${CRLF}`;
}

/** The bytes of the form as sent. */
export function formBytes(form: Form): Buffer {
  if (form.raw) return form.raw;
  const chunks: Buffer[] = [];
  for (const p of form.parts) chunks.push(Buffer.from(partHead(form.boundary, p), 'utf8'), p.data, Buffer.from(CRLF));
  if (!form.unclosed) chunks.push(Buffer.from(`--${form.boundary}--${CRLF}`));
  const all = Buffer.concat(chunks);
  return form.cut === undefined ? all : all.subarray(0, form.cut);
}

/** The length of the complete form, closing delimiter included. */
export const fullLength = (form: Form) => formBytes({ ...form, cut: undefined, unclosed: false, raw: undefined }).length;

export function describeForm(form: Form): string {
  if (form.raw) return `raw ${form.raw.length} bytes`;
  const parts = form.parts.map((p) => `${p.name}${p.filename !== undefined ? `=file(${preview(p.filename, 30)}, ${p.contentType ?? 'no type'}, ${p.label}, ${p.data.length} B)` : `=${preview(p.data.toString('utf8'), 40)}`}`);
  return `form boundary=${preview(form.boundary, 40)} [${parts.join(', ')}]${form.cut !== undefined ? ` cut at ${form.cut} B` : ''}${form.unclosed ? ' unclosed' : ''}`;
}

// ---------------------------------------------------------------------------------------------
// The judge's part: what the description says about a form.
// ---------------------------------------------------------------------------------------------

/** The boundary parameter of a Content-Type header (quoted or not), if any. */
export function boundaryOf(contentType: string): string | undefined {
  const m = /;\s*boundary\s*=\s*(?:"((?:\\.|[^"\\])*)"|([^;\s]+))/i.exec(contentType);
  if (!m) return undefined;
  // Unquoted, a parameter value is a token (RFC 9110): `/`, `(`, `)`, `:`, `?`, `=`, `,` need quotes.
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : TOKEN.test(m[2]!) ? m[2] : undefined;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** RFC 2046: 1–70 characters from this set, not ending in a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

interface FileProperty {
  name: string;
  array: boolean;
  minItems: number;
  maxItems: number;
  maxBytes: number;
}

/** The file properties of a form schema (`format: binary`, alone or as array items). */
export function fileProperties(doc: OpenApiDoc, schemaIn: Schema): FileProperty[] {
  const schema = deref(doc, schemaIn);
  return Object.entries((schema.properties ?? {}) as Record<string, Schema>).flatMap(([name, raw]) => {
    const s = deref(doc, raw);
    const items = s.type === 'array' ? deref(doc, s.items ?? {}) : undefined;
    const file = items ?? s;
    if (file.format !== 'binary') return [];
    const num = (v: unknown, d: number) => (typeof v === 'number' ? v : d);
    return [{ name, array: !!items, minItems: items ? num(s.minItems, 0) : 1, maxItems: items ? num(s.maxItems, 20) : 1, maxBytes: num(file.maxLength, Infinity) }];
  });
}

/**
 * Why a multipart body is invalid according to the description ([] when it is valid). The
 * server ignores part Content-Types and file names (the operation says so), so they never make
 * a form invalid; what a file's bytes are is the server's business too (a `format: binary`
 * string is any bytes).
 */
export function formProblems(doc: OpenApiDoc, op: FuzzOperation, contentType: string, form: Form): string[] {
  const problems: string[] = [];
  const boundary = boundaryOf(contentType);
  if (boundary === undefined) problems.push('the Content-Type has no boundary');
  else if (boundary !== form.boundary || !BOUNDARY.test(boundary)) problems.push('the boundary in the Content-Type is not the one the body uses');
  if (form.raw) problems.push('the body is not a multipart form');
  // Only the CRLF after the closing delimiter may go: the form is complete without it.
  if (form.cut !== undefined && form.cut < fullLength(form) - CRLF.length) problems.push(`the body is cut after ${form.cut} bytes`);
  if (form.unclosed) problems.push('the closing delimiter is missing');
  const schema = deref(doc, op.body!.schema);
  const files = fileProperties(doc, schema);
  const declared = new Set(Object.keys((schema.properties ?? {}) as object));
  for (const p of form.parts) {
    if (!declared.has(p.name) && schema.additionalProperties === false) problems.push(`unknown part ${JSON.stringify(p.name)}`);
    else if (files.some((f) => f.name === p.name) && p.filename === undefined) problems.push(`part ${JSON.stringify(p.name)} is a text field, not a file`);
  }
  for (const f of files) {
    const mine = form.parts.filter((p) => p.name === f.name && p.filename !== undefined);
    if (mine.length && (mine.length < f.minItems || mine.length > f.maxItems)) problems.push(`${mine.length} files in ${f.name} (${f.minItems}–${f.maxItems})`);
    if (!f.array && mine.length > 1) problems.push(`${mine.length} files in the single-file ${f.name}`);
    for (const [i, p] of mine.entries()) if (p.data.length > f.maxBytes) problems.push(`file ${i} of ${f.name} has ${p.data.length} bytes (max ${f.maxBytes})`);
  }
  for (const name of (schema.required ?? []) as string[]) if (!form.parts.some((p) => p.name === name)) problems.push(`required part ${name} is missing`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Generators.
// ---------------------------------------------------------------------------------------------

/** Real images made at start (sharp), so that some uploads are ones the server keeps. */
export interface SampleFile {
  label: string;
  data: Buffer;
  type: string;
}

const boundaryArb = fc.oneof(
  fc.stringMatching(/^[0-9A-Za-z'()+_,\-./:=?]{1,40}$/),
  fc.constantFrom('----WebKitFormBoundary7MA4YWxkTrZu0gW', '--------------------------123456789012345678901234', 'X-FUZZ', 'a'),
).filter((b) => BOUNDARY.test(b));

const EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.heic', '.JPG', '.gif', '.txt', '.exe', '', '.jpg.php', '.png%00.jpg'];
const NAMES = ['photo', '사진', 'IMG_0001', '../../etc/passwd', 'C:\\fakepath\\photo', 'con', '.hidden', 'a'.repeat(200), '🥕 당근', '\u202egnp.exe', 'x;y=z', 'name with "quotes"'];

const fileNameArb = fc.oneof(
  fc.tuple(fc.constantFrom(...NAMES), fc.constantFrom(...EXTENSIONS)).map(([n, e]) => n + e),
  fc.tuple(oddString('json', 1, 24), fc.constantFrom(...EXTENSIONS)).map(([n, e]) => n + e),
).filter((n) => n !== '' && !/[\u0000-\u001f\u007f\r\n]|[\uD800-\uDFFF]/.test(n));

const junkFile: fc.Arbitrary<{ data: Buffer; label: string }> = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }).map((a) => ({ data: Buffer.from(a), label: 'random bytes' })),
  oddString('json', 0, 200).filter((s) => !/[\uD800-\uDFFF]/.test(s)).map((s) => ({ data: Buffer.from(s, 'utf8'), label: 'text' })),
  fc
    .tuple(
      fc.constantFrom<[string, Buffer]>(
        ['PNG signature', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
        ['JPEG signature', Buffer.from([0xff, 0xd8, 0xff, 0xe0])],
        ['WebP signature', Buffer.from('RIFF\u0000\u0000\u0000\u0000WEBPVP8 ', 'latin1')],
        ['HEIC brand', Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic\u0000\u0000\u0000\u0000mif1heic', 'latin1')])],
        ['GIF', Buffer.from('GIF89a', 'latin1')],
        ['PDF', Buffer.from('%PDF-1.7\n', 'latin1')],
        ['SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', 'latin1')],
      ),
      fc.uint8Array({ maxLength: 512 }),
    )
    .map(([[label, head], tail]) => ({ data: Buffer.concat([head, Buffer.from(tail)]), label: `${label} + junk` })),
  fc.constant({ data: Buffer.alloc(0), label: 'empty' }),
);

const atLimitFiles = new Map<number, Buffer>();
/** One shared buffer per size (a JPEG signature, then zeros): sending it is cheap, making it once too. */
function fileOfBytes(n: number): Buffer {
  let b = atLimitFiles.get(n);
  if (!b) {
    b = Buffer.alloc(n);
    Buffer.from([0xff, 0xd8, 0xff, 0xe0]).copy(b);
    atLimitFiles.set(n, b);
  }
  return b;
}

function fileArb(samples: SampleFile[], types: string[], bomb: Buffer): fc.Arbitrary<{ data: Buffer; label: string; contentType?: string }> {
  const real = samples.length ? fc.constantFrom(...samples).map((s) => ({ data: s.data, label: s.label, declared: s.type })) : null;
  const content = fc.oneof(
    ...(real ? [{ arbitrary: real, weight: 6 }] : []),
    { arbitrary: junkFile.map((j) => ({ ...j, declared: undefined as string | undefined })), weight: 3 },
    { arbitrary: fc.constant({ data: bomb, label: 'PNG declaring 20000×20000 pixels', declared: 'image/png' as string | undefined }), weight: 1 },
  );
  // The declared type is ignored by the server; documented ones, the true one, odd ones and none.
  const declared = (truth: string | undefined) =>
    fc.oneof(
      fc.constantFrom(...(types.length ? types : ['application/octet-stream'])),
      fc.constant(truth ?? 'application/octet-stream'),
      fc.constantFrom('text/plain', 'image/gif', 'application/x-msdownload', 'image/svg+xml', 'IMAGE/JPEG', 'image/jpeg; charset=utf-8'),
      fc.constant(undefined),
    );
  return content.chain((c) => declared(c.declared).map((contentType) => ({ data: c.data, label: c.label, ...(contentType !== undefined ? { contentType } : {}) })));
}

/** Valid forms for the operation's schema (the judge has the last word). */
export function formArb(doc: OpenApiDoc, op: FuzzOperation, samples: SampleFile[], bomb: Buffer): fc.Arbitrary<Form> {
  const files = fileProperties(doc, op.body!.schema);
  const perProperty = files.map((f) => {
    const file = fc
      .record({ f: fileArb(samples, op.body!.partTypes[f.name] ?? [], bomb), filename: fileNameArb, extendedFilename: fc.boolean() })
      .map(({ f: x, filename, extendedFilename }): FormPart => ({ name: f.name, filename, extendedFilename, data: x.data, label: x.label, ...(x.contentType !== undefined ? { contentType: x.contentType } : {}) }));
    const min = Math.max(1, f.minItems);
    // Mostly a few files; now and then as many as allowed.
    const count = fc.oneof({ arbitrary: fc.integer({ min, max: Math.min(f.maxItems, min + 2) }), weight: 5 }, { arbitrary: fc.constant(f.maxItems), weight: 1 });
    return count.chain((n) => fc.array(file, { minLength: n, maxLength: n }));
  });
  // A file whose bytes happen to hold the delimiter would end early: not the form that was meant.
  const regular = fc
    .record({ boundary: boundaryArb, parts: fc.tuple(...perProperty).map((ps) => ps.flat()) })
    .filter((form) => form.parts.every((p) => !p.data.includes(`\r\n--${form.boundary}`)));
  // A file of exactly the largest size allowed: the server must read it all and judge its bytes.
  const atLimit = files.filter((f) => Number.isFinite(f.maxBytes) && f.maxBytes <= 16 * 1024 * 1024);
  if (!atLimit.length) return regular;
  const big = fc.record({
    boundary: boundaryArb,
    parts: fc.constantFrom(...atLimit).map((f) => [{ name: f.name, filename: 'big.jpg', contentType: 'image/jpeg', data: fileOfBytes(f.maxBytes), label: `${f.maxBytes} bytes (the limit), JPEG signature + zeros` }]),
  });
  return fc.oneof({ arbitrary: regular, weight: 60 }, { arbitrary: big, weight: 1 });
}

export const formContentType = (boundary: string) =>
  TOKEN.test(boundary)
    ? fc.constantFrom(`multipart/form-data; boundary=${boundary}`, `multipart/form-data; boundary="${boundary}"`, `Multipart/Form-Data;boundary=${boundary}`)
    : fc.constant(`multipart/form-data; boundary="${boundary}"`);

export type FormMutation = { label: string; apply: (contentType: string | undefined, form: Form) => { contentType: string | undefined; form: Form } };

/** Ways to break a valid form; the judge keeps only those that the description rejects. */
export function formMutations(doc: OpenApiDoc, op: FuzzOperation): fc.Arbitrary<FormMutation>[] {
  const files = fileProperties(doc, op.body!.schema);
  const declared = Object.keys((deref(doc, op.body!.schema).properties ?? {}) as object);
  const m = (label: string, apply: FormMutation['apply']): FormMutation => ({ label, apply });
  const tiny = (name: string, i: number): FormPart => ({ name, filename: `f${i}.png`, contentType: 'image/png', data: Buffer.from([0x89, 0x50, 0x4e, 0x47]), label: 'tiny' });
  const muts: fc.Arbitrary<FormMutation>[] = [
    fc
      .constantFrom('multipart/form-data', 'multipart/mixed; boundary=B', 'multipart/form-data; boundary=', 'multipart/form-data; charset=utf-8', 'application/x-www-form-urlencoded')
      .map((ct) => m(`Content-Type ${ct}`, (_ct, form) => ({ contentType: ct.replace('boundary=B', `boundary=${form.boundary}`), form }))),
    boundaryArb.map((other) => m(`Content-Type names another boundary (${other})`, (_ct, form) => ({ contentType: `multipart/form-data; boundary="${other}"`, form }))),
    // Unquoted, a boundary with separators is no boundary at all.
    fc.constant(m('boundary with separators, unquoted', (_ct, form) => ({ contentType: `multipart/form-data; boundary=${form.boundary}/(x)`, form: { ...form, boundary: `${form.boundary}/(x)` } }))),
    fc.nat().map((n) => m('body cut short', (ct, form) => ({ contentType: ct, form: { ...form, cut: n % Math.max(1, fullLength(form) - 1) } }))),
    fc.constant(m('closing delimiter missing', (ct, form) => ({ contentType: ct, form: { ...form, unclosed: true } }))),
    fc.uint8Array({ minLength: 1, maxLength: 600 }).map((a) => m('random bytes under a multipart Content-Type', (ct, form) => ({ contentType: ct, form: { ...form, raw: Buffer.from(a) } }))),
    fc
      .tuple(fc.oneof(fc.constantFrom('url', 'image_url', 'images', 'title', '__proto__', 'images[0]'), fc.stringMatching(/^[a-z_]{1,12}$/)), fc.constantFrom('http://169.254.169.254/latest/meta-data/', 'https://example.com/a.jpg', 'file:///etc/passwd', '', '가'))
      .map(([name, value]) =>
        m(`text field ${name}=${value}`, (ct, form) => ({ contentType: ct, form: { ...form, parts: [...form.parts, { name, data: Buffer.from(value, 'utf8'), label: 'text field' }] } })),
      ),
    fc
      .oneof(fc.constantFrom('image', 'images[]', 'photo', 'file', 'IMAGES', ''), fc.stringMatching(/^[a-z]{1,10}$/))
      .filter((n) => !declared.includes(n))
      .map((name) => m(`a file named under ${JSON.stringify(name)}`, (ct, form) => ({ contentType: ct, form: { ...form, parts: [...form.parts, { ...tiny(name, 0), name }] } }))),
  ];
  for (const f of files) {
    if (f.maxItems < 100) muts.push(fc.integer({ min: 1, max: 3 }).map((extra) => m(`${f.maxItems + extra} files in ${f.name}`, (ct, form) => ({ contentType: ct, form: { ...form, parts: Array.from({ length: f.maxItems + extra }, (_, i) => tiny(f.name, i)) } }))));
    if (Number.isFinite(f.maxBytes) && f.maxBytes <= 16 * 1024 * 1024) {
      muts.push(fc.constant(m(`a file of ${f.maxBytes + 1} bytes in ${f.name}`, (ct, form) => ({ contentType: ct, form: { ...form, parts: [{ ...tiny(f.name, 0), data: fileOfBytes(f.maxBytes + 1), label: 'one byte over the limit' }] } }))));
    }
  }
  return muts;
}
