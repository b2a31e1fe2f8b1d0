import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The production image installs `dependencies` only (Dockerfile: npm ci --omit=dev). A module
// that a production entry point loads and that imports a devDependency crashes that process at
// start, in the image only: `make start` and the tests have every package installed. This walks
// the static imports from each entry point the image runs and names any package reached that
// `dependencies` does not list (a devDependency, or a package only hoisted from one).

const root = path.resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
/** What Dockerfile and docker-compose.yml run, or docs tell operators to run: `node dist/<entry>.js`. */
const ENTRY_POINTS = [
  'src/server.ts',
  'src/worker.ts',
  'src/cli/migrate.ts',
  'src/cli/seed.ts',
  'src/cli/replay.ts',
  'src/cli/dlq-replay.ts',
  'src/cli/grant-role.ts',
  'src/modules/search/cli/rebuild.ts',
  // The migrator loads these by file name, not by import.
  ...readdirSync(path.join(root, 'src/migrations'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `src/migrations/${f}`),
];

// Value imports and re-exports; `import type` / `export type` vanish at compile time.
const IMPORT = /^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
const DYNAMIC = /(?:import|require)\(\s*['"]([^'"]+)['"]\s*\)/g;

function resolveLocal(from: string, spec: string): string {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base]) if (existsSync(candidate) && candidate.endsWith('.ts')) return candidate;
  // JSON and other assets are not modules we walk.
  return '';
}

const packageOf = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);

/** Every bare package a file reaches through value imports, with the chain that reaches it. */
function packagesReached(entry: string): Map<string, string[]> {
  const reached = new Map<string, string[]>();
  const seen = new Set<string>();
  const walk = (file: string, chain: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    const specs = [...text.matchAll(IMPORT), ...text.matchAll(DYNAMIC)].map((m) => m[1]!);
    for (const spec of specs) {
      const here = [...chain, path.relative(root, file)];
      if (spec.startsWith('.')) {
        const next = resolveLocal(file, spec);
        if (next) walk(next, here);
      } else if (!spec.startsWith('node:')) {
        const name = packageOf(spec);
        if (!reached.has(name)) reached.set(name, here);
      }
    }
  };
  walk(path.join(root, entry), []);
  return reached;
}

describe('what the production image runs', () => {
  it('when the walk meets a known development-only import, then it reports it (the check can fail)', () => {
    const simulator = packagesReached('src/integrations/email/smtp-simulator.ts');
    expect([...simulator.keys()]).toEqual(expect.arrayContaining(['smtp-server', 'mailparser']));
    expect(pkg.devDependencies['smtp-server']).toBeDefined();
  });

  for (const entry of ENTRY_POINTS) {
    it(`when ${entry} starts with production dependencies only, then every package it loads is installed`, () => {
      expect(existsSync(path.join(root, entry)), `${entry} exists`).toBe(true);
      const reached = packagesReached(entry);
      const notInstalled = [...reached].filter(([name]) => !(name in pkg.dependencies) && !builtinModules.includes(name)).map(([name, chain]) => `${name} (via ${chain.join(' → ')})`);
      expect(notInstalled).toEqual([]);
      // And the walk went past the entry file: every program reads its config (zod); a migration
      // is a file of SQL on its own.
      if (!entry.startsWith('src/migrations/')) expect(reached.has('zod')).toBe(true);
    });
  }
});
