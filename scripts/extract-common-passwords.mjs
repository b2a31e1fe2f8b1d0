// One-off: writes the 1,000 most common passwords of @zxcvbn-ts/language-common to
// data/common-passwords/top-1000.txt. Re-run after upgrading the package and commit the diff.
//
//   node scripts/extract-common-passwords.mjs
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const COUNT = 1000;
const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// The package's public entry point decompresses its lists; 'passwords-common' is ordered by
// frequency, most common first.
const { dictionary } = require('@zxcvbn-ts/language-common');
const { version } = require('@zxcvbn-ts/language-common/package.json');
const list = dictionary['passwords-common'];
if (!Array.isArray(list) || list.length < COUNT) throw new Error(`expected at least ${COUNT} passwords, got ${list?.length}`);

const top = list.slice(0, COUNT);
// The runtime reads one password per line and compares lower-cased: refuse anything that would
// not survive that round trip rather than silently change the list.
for (const pw of top) {
  if (typeof pw !== 'string' || pw === '' || /[\r\n]/.test(pw) || pw !== pw.trim()) throw new Error(`unusable entry: ${JSON.stringify(pw)}`);
}
if (new Set(top.map((pw) => pw.toLowerCase())).size !== COUNT) throw new Error('the top entries are not unique case-insensitively');

const out = path.join(root, 'data', 'common-passwords', 'top-1000.txt');
writeFileSync(out, `${top.join('\n')}\n`, 'utf8');
console.log(`wrote ${top.length} passwords from @zxcvbn-ts/language-common@${version} to ${path.relative(root, out)}`);
