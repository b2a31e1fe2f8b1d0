import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { OpenApiDoc, Schema } from './spec';

const DOC_ID = 'fuzz-openapi.json';

/** Points local refs (`#/components/...`) at the whole description, registered under DOC_ID. */
function anchorRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(anchorRefs);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${DOC_ID}${v}` : anchorRefs(v)]),
  );
}

/**
 * JSON Schema 2020-12 validation (Ajv, the validator the app itself uses) as the judge of what
 * the generators make: a "valid" value must pass and an "invalid" one must fail, so a gap in the
 * generators can never turn into a false alarm. Parameters are judged the way the server reads
 * them, as strings coerced to the schema's type; bodies are judged as they are.
 */
export interface SchemaOracle {
  /** The description the schemas belong to. */
  doc: OpenApiDoc;
  body(schema: Schema, value: unknown): boolean;
  parameter(schema: Schema, value: string | string[] | undefined, required: boolean): boolean;
  /** For response checks: the first errors, or [] when valid. */
  errors(schema: Schema, value: unknown): string[];
}

export function schemaOracle(doc: OpenApiDoc): SchemaOracle {
  const make = (coerceTypes: boolean | 'array') => {
    const ajv = new Ajv2020({ strict: false, logger: false, validateSchema: false, allErrors: false, coerceTypes, validateFormats: true });
    addFormats(ajv);
    ajv.addSchema(doc as object, DOC_ID);
    return ajv;
  };
  const plain = make(false);
  const coercing = make('array');
  const cache = new Map<Ajv2020, WeakMap<object, ValidateFunction>>([
    [plain, new WeakMap()],
    [coercing, new WeakMap()],
  ]);
  const compile = (ajv: Ajv2020, schema: Schema): ValidateFunction => {
    const byAjv = cache.get(ajv)!;
    let fn = byAjv.get(schema);
    if (!fn) {
      fn = ajv.compile(anchorRefs(schema) as object);
      byAjv.set(schema, fn);
    }
    return fn;
  };
  const optionalWrappers = new WeakMap<Schema, Schema>();
  const requiredWrappers = new WeakMap<Schema, Schema>();
  const wrapperFor = (schema: Schema, required: boolean): Schema => {
    const map = required ? requiredWrappers : optionalWrappers;
    let w = map.get(schema);
    if (!w) {
      w = { type: 'object', properties: { v: schema }, ...(required ? { required: ['v'] } : {}) };
      map.set(schema, w);
    }
    return w;
  };
  return {
    doc,
    body: (schema, value) => compile(plain, schema)(structuredClone(value)) === true,
    parameter: (schema, value, required) => {
      const data: Record<string, unknown> = value === undefined ? {} : { v: Array.isArray(value) ? [...value] : value };
      return compile(coercing, wrapperFor(schema, required))(data) === true;
    },
    errors: (schema, value) => {
      const fn = compile(plain, schema);
      return fn(value) ? [] : (fn.errors ?? []).slice(0, 3).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
    },
  };
}
