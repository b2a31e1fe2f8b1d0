#!/usr/bin/env bash
# Breaking-change gate: compares the full bundle (generated/openapi.yaml) with a base and fails
# on removed operations or fields, new required parameters or request fields, narrowed types
# and removed enum values. See docs/api-lint.md.
#
#   scripts/check-breaking.sh                       base chosen from git (below), head generated/openapi.yaml
#   scripts/check-breaking.sh --base-ref v1.2.0     base = generated/openapi.yaml at that git ref
#   scripts/check-breaking.sh --base A.yaml --head B.yaml
#   --acknowledged FILE   reviewed findings that are not breaking (default
#                         openapi/releases/acknowledged.yaml, when present)
#
# Base: the latest `v*` release tag reachable from HEAD; without one, the committed snapshot of
# the last release, openapi/releases/latest.yaml (`make release-spec`); without that, the previous
# commit: HEAD~1 when openapi/ and generated/ have no uncommitted changes (the last commit is
# what is checked), HEAD when they do (the working copy is what is checked). No base (first
# commit, shallow clone, file missing at that ref) passes with a message.
#
# Two checkers, both run: openapi-diff (Atlassian; set-based diff of paths, methods, status
# codes, response headers and request/response bodies) on an OpenAPI 3.0 rendering of both
# documents, since it reads neither 3.1 nor recursive schemas; and the walk below for what it
# does not look at: parameters, enum/const values, pattern/format, fields by name.
# Exit 0: no breaking change; 1: breaking changes (listed); 2: usage or input error.
set -euo pipefail

usage() { sed -n '6,10p' "$0" | sed 's/^# *//'; exit "${1:-2}"; }
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
base_file='' head_file='' base_ref='' ack_file=''
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base_file=$(abs "${2:?--base needs a file}"); shift 2 ;;
    --head) head_file=$(abs "${2:?--head needs a file}"); shift 2 ;;
    --base-ref) base_ref=${2:?--base-ref needs a git ref}; shift 2 ;;
    --acknowledged) ack_file=$(abs "${2:?--acknowledged needs a file}"); shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "check-breaking: unknown argument $1" >&2; usage >&2 ;;
  esac
done
cd "$(dirname "$0")/.."
head_file=${head_file:-generated/openapi.yaml}
if [ -z "$ack_file" ] && [ -f openapi/releases/acknowledged.yaml ]; then ack_file=$(abs openapi/releases/acknowledged.yaml); fi
[ -z "$ack_file" ] || [ -f "$ack_file" ] || { echo "check-breaking: no acknowledgements file $ack_file" >&2; exit 2; }
[ -f "$head_file" ] || { echo "check-breaking: no head document $head_file (run 'make generate')" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass() { echo "check-breaking: $1; nothing to compare, passing"; exit 0; }

if [ -n "$base_file" ]; then
  [ -f "$base_file" ] || { echo "check-breaking: no base document $base_file" >&2; exit 2; }
  label=$base_file
else
  git rev-parse --git-dir >/dev/null 2>&1 || pass "not a git repository and no --base given"
  if [ -n "$base_ref" ] && ! git rev-parse --verify --quiet "$base_ref^{commit}" >/dev/null; then
    echo "check-breaking: --base-ref $base_ref is not a commit" >&2; exit 2
  fi
  if [ -z "$base_ref" ]; then
    base_ref=$(git describe --tags --abbrev=0 --match 'v*' HEAD 2>/dev/null || true)
    # Tags may not travel with a clone of main: the committed snapshot of the last release
    # (`make release-spec`) is the baseline partners actually have.
    if [ -z "$base_ref" ] && [ -f openapi/releases/latest.yaml ] && [ -z "${CHECK_BREAKING_IGNORE_SNAPSHOT:-}" ]; then
      base_file=$(abs openapi/releases/latest.yaml)
      label="openapi/releases/latest.yaml"
    elif [ -z "$base_ref" ]; then
      if [ -n "$(git status --porcelain -- openapi generated)" ]; then base_ref=HEAD; else base_ref=HEAD~1; fi
    fi
  fi
  if [ -z "$base_file" ]; then
    git rev-parse --verify --quiet "$base_ref^{commit}" >/dev/null || pass "base $base_ref does not exist (first commit or shallow clone?)"
    git show "$base_ref:generated/openapi.yaml" >"$tmp/base.yaml" 2>/dev/null || pass "$base_ref has no generated/openapi.yaml"
    base_file=$tmp/base.yaml
    label="$base_ref:generated/openapi.yaml"
  fi
fi

node - "$base_file" "$head_file" "$label" "$ack_file" <<'JS'
'use strict';
// A document this cannot read is an input error (2), never a pass and never "breaking" (1).
process.on('uncaughtException', (err) => {
  console.error(`check-breaking: ${err.message}`);
  process.exit(2);
});
const fs = require('node:fs');
const path = require('node:path');
const root = process.cwd();
const YAML = require(path.join(root, 'node_modules/yaml'));
const openapiDiff = require(path.join(root, 'node_modules/openapi-diff'));

const [baseFile, headFile, baseLabel = baseFile, ackFile = ''] = process.argv.slice(2);
const load = (file, label) => {
  let doc;
  try {
    doc = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    console.error(`check-breaking: cannot read ${label}: ${err.message}`);
    process.exit(2);
  }
  if (!doc || typeof doc !== 'object' || !/^3\.1\./.test(String(doc.openapi))) {
    console.error(`check-breaking: ${label} is not an OpenAPI 3.1 document`);
    process.exit(2);
  }
  return doc;
};
const base = load(baseFile, baseLabel);
const head = load(headFile, headFile);

// Findings a person reviewed and found harmless to every client (the gate cannot decide, say,
// whether one regular expression accepts everything another does). Matched exactly, without
// the [checker] prefix; each entry must say why.
const acknowledged = (() => {
  if (!ackFile) return new Map();
  let list;
  try {
    list = YAML.parse(fs.readFileSync(ackFile, 'utf8')) ?? [];
  } catch (err) {
    console.error(`check-breaking: cannot read ${ackFile}: ${err.message}`);
    process.exit(2);
  }
  if (!Array.isArray(list) || list.some((e) => typeof e?.finding !== 'string' || typeof e?.why !== 'string' || !e.why.trim())) {
    console.error(`check-breaking: ${ackFile} must be a list of { finding, why }, each with a reason`);
    process.exit(2);
  }
  return new Map(list.map((e) => [e.finding, e.why]));
})();

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// ---------- $ref resolution (bundles only hold internal refs) ----------
function pointer(doc, ref) {
  if (!ref.startsWith('#/')) throw new Error(`external $ref not supported in a bundle: ${ref}`);
  return ref.slice(2).split('/').reduce((node, raw) => {
    const key = decodeURIComponent(raw.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (!isObj(node) && !Array.isArray(node)) throw new Error(`unresolvable $ref ${ref}`);
    return node[key];
  }, doc);
}
/** Follows a $ref chain; a sibling description/summary (OpenAPI 3.1) wins over the target's. */
function resolve(doc, node) {
  const seen = new Set();
  while (isObj(node) && typeof node.$ref === 'string') {
    if (seen.has(node.$ref)) throw new Error(`$ref cycle at ${node.$ref}`);
    seen.add(node.$ref);
    const { $ref, ...siblings } = node;
    node = { ...pointer(doc, $ref), ...siblings };
  }
  return node;
}

// ---------- 1. openapi-diff on an OpenAPI 3.0 rendering of both documents ----------
// openapi-diff reads OpenAPI 3.0 only and no recursive schemas: inline every $ref, cut
// recursion (a schema inside itself becomes {}), and translate the 3.1-only keywords.
function inline(doc, node, stack = []) {
  if (Array.isArray(node)) return node.map((n) => inline(doc, n, stack));
  if (!isObj(node)) return node;
  if (typeof node.$ref === 'string') {
    if (stack.includes(node.$ref)) return {};
    const { $ref, ...siblings } = node;
    return inline(doc, { ...pointer(doc, $ref), ...siblings }, [...stack, $ref]);
  }
  const out = {};
  for (const [k, v] of Object.entries(node)) out[k] = inline(doc, v, stack);
  return out;
}
const DROP_31 = ['$schema', '$id', '$comment', '$defs', 'contentMediaType', 'contentEncoding', 'unevaluatedProperties',
  'unevaluatedItems', 'prefixItems', 'dependentRequired', 'dependentSchemas', 'if', 'then', 'else', 'propertyNames',
  'patternProperties', 'examples', 'example'];
function schema30(s) {
  if (!isObj(s)) return s;
  const out = { ...s };
  for (const k of DROP_31) delete out[k];
  if (Array.isArray(out.type)) {
    const types = out.type.filter((t) => t !== 'null');
    if (types.length < out.type.length) out.nullable = true;
    if (types.length === 1) out.type = types[0];
    else if (types.length === 0) delete out.type;
    else { delete out.type; out.anyOf = types.map((type) => ({ type })); }
  } else if (out.type === 'null') {
    delete out.type;
    out.nullable = true;
    out.enum = [null];
  }
  if ('const' in out) { out.enum = [out.const]; delete out.const; }
  for (const [k, flag] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']]) {
    if (typeof out[k] === 'number') { out[flag] = out[k]; out[k] = true; }
  }
  if (isObj(out.properties)) out.properties = Object.fromEntries(Object.entries(out.properties).map(([k, v]) => [k, schema30(v)]));
  for (const k of ['items', 'not']) if (isObj(out[k])) out[k] = schema30(out[k]);
  if (isObj(out.additionalProperties)) out.additionalProperties = schema30(out.additionalProperties);
  for (const k of ['allOf', 'anyOf', 'oneOf']) if (Array.isArray(out[k])) out[k] = out[k].map(schema30);
  return out;
}
function withSchema30(holder) {
  if (!isObj(holder)) return holder;
  const out = { ...holder };
  delete out.example;
  delete out.examples;
  if (isObj(out.schema)) out.schema = schema30(out.schema);
  if (isObj(out.content)) out.content = Object.fromEntries(Object.entries(out.content).map(([t, m]) => [t, withSchema30(m)]));
  return out;
}
function to30(doc) {
  const d = inline(doc, doc);
  const paths = {};
  for (const [p, item] of Object.entries(d.paths ?? {})) {
    const it = { ...item };
    if (Array.isArray(it.parameters)) it.parameters = it.parameters.map(withSchema30);
    for (const m of METHODS) {
      if (!isObj(it[m])) continue;
      const op = { ...it[m] };
      delete op.security;
      if (Array.isArray(op.parameters)) op.parameters = op.parameters.map(withSchema30);
      if (isObj(op.requestBody)) op.requestBody = withSchema30(op.requestBody);
      if (isObj(op.responses)) {
        op.responses = Object.fromEntries(Object.entries(op.responses).map(([code, r]) => {
          const res = withSchema30(r);
          if (isObj(res.headers)) res.headers = Object.fromEntries(Object.entries(res.headers).map(([n, h]) => [n, withSchema30(h)]));
          return [code, res];
        }));
      }
      it[m] = op;
    }
    paths[p] = it;
  }
  const info = { title: d.info?.title ?? 'API', version: d.info?.version ?? '0' };
  return { openapi: '3.0.3', info, paths };
}
const where = (r) => [...(r.sourceSpecEntityDetails ?? []), ...(r.destinationSpecEntityDetails ?? [])].map((e) => e.location).find(Boolean) ?? '';
const describeDiff = (r) => `${r.code} at ${where(r)}`;

// ---------- 2. What openapi-diff does not look at ----------
// Parameters (all of them), enum/const, pattern and format, and fields by name in request and
// response bodies, walked on the 3.1 documents themselves.
const breaking = [];
const flag = (loc, what) => breaking.push(`${loc}: ${what}`);

function typesOf(s) {
  if (!isObj(s)) return null;
  if (Array.isArray(s.type)) return new Set(s.type);
  if (typeof s.type === 'string') return new Set([s.type]);
  return null; // any
}
/** Values the head no longer accepts (request side) or types it newly sends (response side). */
function narrowedTypes(b, h) {
  const bt = typesOf(b), ht = typesOf(h);
  if (!ht) return [];
  if (!bt) return [`type restricted to ${[...ht].join('|')}`];
  const lost = [...bt].filter((t) => !ht.has(t) && !(t === 'integer' && ht.has('number')));
  return lost.length ? [`type ${[...bt].join('|')} narrowed to ${[...ht].join('|')}`] : [];
}
const enumOf = (s) => (Array.isArray(s?.enum) ? s.enum : 'const' in (s ?? {}) ? [s.const] : null);
const key = (v) => JSON.stringify(v);

/**
 * side 'request': the head must accept everything the base accepted.
 * side 'response': the head must keep every field and enum value clients were told about.
 */
function walk(bNode, hNode, loc, side, seen = new Set()) {
  const b = resolve(base, bNode), h = resolve(head, hNode);
  if (!isObj(b) || !isObj(h)) return;
  const pair = `${bNode?.$ref ?? ''}|${hNode?.$ref ?? ''}|${side}`;
  if ((bNode?.$ref || hNode?.$ref) && seen.has(pair)) return;
  const next = new Set(seen).add(pair);

  const be = enumOf(b), he = enumOf(h);
  if (be && he) {
    const removed = be.filter((v) => !he.some((w) => key(w) === key(v)));
    if (removed.length) flag(loc, `enum value${removed.length > 1 ? 's' : ''} ${removed.map(key).join(', ')} removed`);
  } else if (!be && he && side === 'request') flag(loc, `now restricted to ${he.map(key).join(', ')}`);

  if (side === 'request') {
    for (const t of narrowedTypes(b, h)) flag(loc, t);
    const ht = typesOf(h);
    const stringy = !ht || ht.has('string');
    if (stringy && h.pattern !== undefined && h.pattern !== b.pattern) flag(loc, b.pattern === undefined ? `pattern ${h.pattern} added` : `pattern changed from ${b.pattern} to ${h.pattern}`);
    if (stringy && h.format !== undefined && h.format !== b.format) flag(loc, b.format === undefined ? `format ${h.format} added` : `format changed from ${b.format} to ${h.format}`);
    const tighter = (k, lower) => {
      if (h[k] === undefined || h[k] === b[k]) return;
      if (b[k] === undefined || (lower ? h[k] < b[k] : h[k] > b[k])) flag(loc, `${k} ${b[k] === undefined ? 'added' : `tightened from ${b[k]}`} to ${h[k]}`);
    };
    for (const k of ['maxLength', 'maximum', 'exclusiveMaximum', 'maxItems', 'maxProperties']) tighter(k, true);
    for (const k of ['minLength', 'minimum', 'exclusiveMinimum', 'minItems', 'minProperties']) tighter(k, false);
    const bReq = new Set(b.required ?? []);
    for (const r of h.required ?? []) if (!bReq.has(r)) flag(`${loc}.${r}`, 'request field is now required');
    if (b.additionalProperties !== false && h.additionalProperties === false && !isObj(b.additionalProperties)) {
      // closing an open request schema refuses fields it used to take
      if (b.type === 'object' || b.properties) flag(loc, 'request object closed (additionalProperties: false)');
    }
  } else {
    for (const r of b.required ?? []) if (!(h.required ?? []).includes(r) && (h.properties ?? {})[r] !== undefined) flag(`${loc}.${r}`, 'response field no longer always present');
    const bt = typesOf(b), ht = typesOf(h);
    if (bt && (!ht || [...ht].some((t) => !bt.has(t) && !(t === 'integer' && bt.has('number'))))) flag(loc, `response type ${[...bt].join('|')} widened to ${ht ? [...ht].join('|') : 'any'}`);
  }

  const bp = isObj(b.properties) ? b.properties : {}, hp = isObj(h.properties) ? h.properties : {};
  for (const [name, sub] of Object.entries(bp)) {
    if (!(name in hp)) flag(`${loc}.${name}`, `${side} field removed`);
    else walk(sub, hp[name], `${loc}.${name}`, side, next);
  }
  if (isObj(b.items) && isObj(h.items)) walk(b.items, h.items, `${loc}[]`, side, next);
  if (isObj(b.additionalProperties) && isObj(h.additionalProperties)) walk(b.additionalProperties, h.additionalProperties, `${loc}.*`, side, next);
  for (const k of ['allOf', 'anyOf', 'oneOf']) {
    if (Array.isArray(b[k]) && Array.isArray(h[k]) && b[k].length === h[k].length) b[k].forEach((s, i) => walk(s, h[k][i], `${loc}(${k}[${i}])`, side, next));
  }
}

function paramsOf(doc, item, op) {
  const map = new Map();
  for (const p of [...(item.parameters ?? []), ...(op.parameters ?? [])]) {
    const r = resolve(doc, p);
    if (!isObj(r) || !r.name) continue;
    map.set(`${r.in}:${r.in === 'header' ? r.name.toLowerCase() : r.name}`, r);
  }
  return map;
}

const jsonContent = (content) => Object.entries(content ?? {}).filter(([type]) => /json/.test(type));
for (const [p, bItemRaw] of Object.entries(base.paths ?? {})) {
  const bItem = resolve(base, bItemRaw);
  const hItem = resolve(head, head.paths?.[p]);
  if (!isObj(hItem)) continue; // reported by openapi-diff (path.remove)
  for (const m of METHODS) {
    const bOp = bItem[m], hOp = hItem[m];
    if (!isObj(bOp) || !isObj(hOp)) continue; // method.remove, from openapi-diff
    const op = `${m.toUpperCase()} ${p}`;
    const bParams = paramsOf(base, bItem, bOp), hParams = paramsOf(head, hItem, hOp);
    for (const [k, bp] of bParams) {
      const hp = hParams.get(k);
      const loc = `${op} ${bp.in} parameter ${bp.name}`;
      if (!hp) { flag(loc, 'parameter removed'); continue; }
      if (!bp.required && hp.required) flag(loc, 'parameter became required');
      if (bp.schema && hp.schema) walk(bp.schema, hp.schema, loc, 'request');
    }
    for (const [k, hp] of hParams) if (!bParams.has(k) && hp.required) flag(`${op} ${hp.in} parameter ${hp.name}`, 'new required parameter');

    const bBody = resolve(base, bOp.requestBody), hBody = resolve(head, hOp.requestBody);
    if (isObj(hBody) && hBody.required && !(isObj(bBody) && bBody.required)) flag(`${op} request body`, 'request body became required');
    if (isObj(bBody) && !isObj(hBody)) flag(`${op} request body`, 'request body removed');
    if (isObj(bBody) && isObj(hBody)) {
      for (const [type, media] of jsonContent(bBody.content)) {
        const hMedia = hBody.content?.[type];
        if (!hMedia) flag(`${op} request body`, `media type ${type} no longer accepted`);
        else walk(media.schema, hMedia.schema, `${op} request body`, 'request');
      }
    }
    for (const [code, bResRaw] of Object.entries(bOp.responses ?? {})) {
      const bRes = resolve(base, bResRaw), hRes = resolve(head, hOp.responses?.[code]);
      if (!isObj(hRes)) continue; // response.status-code.remove, from openapi-diff
      for (const [type, media] of jsonContent(bRes.content)) {
        const hMedia = hRes.content?.[type];
        if (!hMedia) flag(`${op} response ${code}`, `media type ${type} no longer sent`);
        else walk(media.schema, hMedia.schema, `${op} response ${code} body`, 'response');
      }
      for (const [name, bh] of Object.entries(bRes.headers ?? {})) {
        const hh = hRes.headers?.[name];
        if (hh) walk(resolve(base, bh).schema, resolve(head, hh).schema, `${op} response ${code} header ${name}`, 'response');
      }
    }
  }
}

// openapi-diff's schema comparison grows far faster than the document: the whole bundle (65
// paths, 2 MB once inlined) did not finish in 14 minutes, while its largest path alone takes
// under a second. So it compares path by path, and only paths whose 3.0 rendering changed.
(async () => {
  const base30 = to30(base), head30 = to30(head);
  const only = (d, p) => ({ ...d, paths: p in d.paths ? { [p]: d.paths[p] } : {} });
  const changed = [...new Set([...Object.keys(base30.paths), ...Object.keys(head30.paths)])]
    .filter((p) => JSON.stringify(base30.paths[p]) !== JSON.stringify(head30.paths[p]));
  const fromDiff = [];
  let nonBreaking = 0;
  for (const p of changed) {
    let diff;
    try {
      diff = await openapiDiff.diffSpecs({
        sourceSpec: { content: JSON.stringify(only(base30, p)), location: 'base (as OpenAPI 3.0)', format: 'openapi3' },
        destinationSpec: { content: JSON.stringify(only(head30, p)), location: 'head (as OpenAPI 3.0)', format: 'openapi3' },
      });
    } catch (err) {
      console.error(`check-breaking: openapi-diff could not compare ${p}: ${err.message}`);
      process.exit(2);
    }
    fromDiff.push(...(diff.breakingDifferences ?? []).map(describeDiff));
    nonBreaking += (diff.nonBreakingDifferences ?? []).length + (diff.unclassifiedDifferences ?? []).length;
  }
  const found = [...fromDiff.map((d) => ['openapi-diff', d]), ...breaking.map((b) => ['fields/params', b])];
  const isAcknowledged = ([, finding]) => acknowledged.has(finding);
  const all = [...new Set(found.filter((f) => !isAcknowledged(f)).map(([by, finding]) => `[${by}] ${finding}`))];
  console.log(`check-breaking: base ${baseLabel}, head ${headFile}`);
  for (const [finding, why] of acknowledged) {
    if (found.some(([, f]) => f === finding)) console.log(`check-breaking: acknowledged, not breaking: ${finding}\n    why: ${why}`);
    else console.log(`check-breaking: an acknowledgement matches nothing (stale, remove it): ${finding}`);
  }
  if (all.length === 0) {
    console.log(`check-breaking: no breaking changes (${nonBreaking} other difference${nonBreaking === 1 ? '' : 's'} found by openapi-diff)`);
    return;
  }
  console.log(`BREAKING (${all.length}):`);
  for (const line of all) console.log(`  - ${line}`);
  console.log('check-breaking: breaking changes found; inside v1 only additive changes are allowed (API-CONVENTIONS.md)');
  process.exit(1);
})();
JS
