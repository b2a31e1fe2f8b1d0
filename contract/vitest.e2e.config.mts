import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The black-box scenarios (test/e2e), kept out of the default `vitest run`: they need a running
// API at E2E_BASE_URL (docs/qa.md). scripts/prism-conformance.sh runs them through Prism.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/e2e/**/*.e2e.ts'],
    // The admin flow renames a category, which changes the tree's ETag: files run one at a time.
    fileParallelism: false,
    testTimeout: 20_000,
    reporters: ['default', 'junit'],
    outputFile: { junit: process.env.E2E_JUNIT_FILE ?? 'reports/e2e/junit.xml' },
  },
});
