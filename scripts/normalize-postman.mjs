// openapi-to-postmanv2 stamps random UUIDs on the collection and its items; replace them with
// ids derived from each item's position and name so that regenerating gives identical bytes.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.argv[2];
const collection = JSON.parse(readFileSync(file, 'utf8'));
const stableId = (seed) => {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};
const walk = (node, trail) => {
  if (Array.isArray(node)) return node.forEach((child, i) => walk(child, `${trail}/${i}`));
  if (node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    const here = `${trail}/${key}`;
    if ((key === 'id' || key === '_postman_id') && typeof value === 'string') node[key] = stableId(`${here}:${node.name ?? ''}`);
    else walk(value, here);
  }
};
walk(collection, '');
writeFileSync(file, `${JSON.stringify(collection, null, 2)}\n`);
