#!/usr/bin/env node
// Copies an OpenAPI bundle for Portman, unrolling self-referencing schemas (Category.children ->
// Category) to a fixed depth. Portman inlines each response schema into its Postman test and
// silently skips the schema check of any schema that still holds a `$ref`, so without this the
// category operations would get no body validation at all. Nothing else in the document changes.
//
//   node contract/portman/prepare-spec.mjs generated/openapi.json reports/contract/openapi.portman.json
import { readFileSync, writeFileSync } from 'node:fs';

// The category tree is at most six levels deep (Category.depth is 0..5); below the last unrolled
// level any value is accepted, so a deeper tree is under-checked, never falsely failed.
const LEVELS = 6;

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: prepare-spec.mjs <openapi.json> <out.json>');
  process.exit(64);
}
const doc = JSON.parse(readFileSync(input, 'utf8'));
const schemas = doc.components?.schemas ?? {};

const refTo = (name) => `#/components/schemas/${name}`;
const mentions = (node, ref) => JSON.stringify(node).includes(JSON.stringify(ref));

/** Replaces every `$ref` to `name` below `node` with the schema itself, `levels` times. */
function unroll(node, name, levels) {
  if (Array.isArray(node)) return node.map((n) => unroll(n, name, levels));
  if (!node || typeof node !== 'object') return node;
  if (node.$ref === refTo(name)) return levels > 1 ? unroll(structuredClone(schemas[name]), name, levels - 1) : {};
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, unroll(v, name, levels)]));
}

const unrolled = [];
for (const [name, schema] of Object.entries(schemas)) {
  if (!mentions(schema, refTo(name))) continue;
  schemas[name] = unroll(structuredClone(schema), name, LEVELS);
  unrolled.push(name);
}
const stillCircular = Object.entries(schemas).filter(([name, s]) => mentions(s, refTo(name)));
if (stillCircular.length) {
  console.error(`prepare-spec: could not unroll ${stillCircular.map(([n]) => n).join(', ')}`);
  process.exit(1);
}
// Portman (openapi-to-postman) makes a form field a file part only for a `format: binary` string,
// not for an array of them (it sends text instead): in the copy, such an array becomes one file,
// which the collection then uploads. Only request schemas change; responses are checked as written.
const fileArrays = [];
for (const [path, item] of Object.entries(doc.paths ?? {})) {
  for (const op of Object.values(item)) {
    const media = op?.requestBody?.content?.['multipart/form-data'];
    if (!media?.schema) continue;
    const ref = media.schema.$ref;
    const schema = ref ? schemas[ref.split('/').pop()] : media.schema;
    for (const [name, prop] of Object.entries(schema?.properties ?? {})) {
      if (prop.type === 'array' && prop.items?.format === 'binary') {
        schema.properties[name] = { type: 'string', format: 'binary', description: prop.description };
        fileArrays.push(`${path} ${name}`);
      }
    }
  }
}
writeFileSync(output, `${JSON.stringify(doc, null, 2)}\n`);
console.log(`prepare-spec: ${output}${unrolled.length ? ` (unrolled ${unrolled.join(', ')} to ${LEVELS} levels)` : ''}${fileArrays.length ? ` (one file part for ${fileArrays.join(', ')})` : ''}`);
