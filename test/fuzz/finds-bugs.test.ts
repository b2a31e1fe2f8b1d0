import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBareApp } from '../support/bare-app';
import { testConfig } from '../support/env';
import { createFuzzContext, fuzzProperty, type FuzzContext } from './harness';
import { loadFuzzSpec, type FuzzOperation } from './spec';

// The fuzzer is only worth its run time if it finds bugs. Here the same property that runs
// against the real app runs against one whose category list throws on an edge of its input
// (max_depth=0), with a fixed seed and a small run count: fast-check must report it.

const spec = loadFuzzSpec();
const listOp = spec.operations.find((op) => op.operationId === 'listProductCategories') as FuzzOperation;
let buggy = true;
let app: Awaited<ReturnType<typeof startBareApp>>;
let ctx: FuzzContext;

beforeAll(async () => {
  const emptyTree = { object: 'list', data: [], has_more: false, next_cursor: null };
  app = await startBareApp({
    handlers: {
      listProductCategories: async ({ query }) => {
        if (buggy && query.max_depth === 0) throw new TypeError("Cannot read properties of undefined (reading 'children')");
        return { status: 200, headers: { ETag: '"fuzz-tree"', 'Cache-Control': 'no-store' }, body: emptyTree as never };
      },
    },
  });
  ctx = await createFuzzContext({ baseUrl: app.base, config: testConfig(), spec, ownIds: [] });
});
afterAll(() => app.stop());

describe('the fuzzer finds bugs', () => {
  const params = { seed: 20261127, numRuns: 40 };

  it('when a handler throws for max_depth=0, then the valid-request property fails and shrinks to a request with max_depth=0 answered by a 500', async () => {
    expect(listOp, 'the description has no listProductCategories').toBeDefined();
    buggy = true;
    const details = await fc.check(fuzzProperty(ctx, listOp, 'valid', 4)!, params);
    expect(details.failed).toBe(true);
    const failing = details.counterexample![0].filter((r) => r.query.some(([name, value]) => String(name) === 'max_depth' && String(value) === '0'));
    expect(failing.length).toBeGreaterThan(0);
    expect(String(details.errorInstance)).toMatch(/max_depth=0[\s\S]*→ 500[\s\S]*a 500: the server failed/);
  });

  it('when the same handler does not throw, then the same property with the same seed passes (the failure was the bug, not the harness)', async () => {
    buggy = false;
    const details = await fc.check(fuzzProperty(ctx, listOp, 'valid', 4)!, params);
    expect(details.failed).toBe(false);
    expect(details.numRuns).toBe(params.numRuns);
  });
});
