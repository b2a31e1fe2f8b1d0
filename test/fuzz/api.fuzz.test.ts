import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { changesSince, createFuzzContext, fuzzProperty, fuzzSettings, planRuns, runFuzz, settledState, storedState, type FuzzContext, type FuzzKind } from './harness';
import { loadFuzzSpec, type FuzzOperation } from './spec';
import { startFuzzWorld, type FuzzWorld } from './world';

// Property-based tests generated from generated/openapi.json: every operation, under /v1 and at
// the root, with and without tokens. docs/fuzzing.md says what is generated and how to replay.

const spec = loadFuzzSpec();
const settings = fuzzSettings();
const plan = planRuns(spec.operations, settings);

let world: FuzzWorld;
let ctx: FuzzContext;

beforeAll(async () => {
  world = await startFuzzWorld(settings.seed);
  ctx = await createFuzzContext({ baseUrl: world.baseUrl, config: world.config, spec, ownIds: world.pools.ownIds, pools: world.pools, files: world.files });
}, 120_000);
afterAll(async () => {
  if (settings.path === undefined && ctx) {
    // What the run met, per operation: where the budget went, and which rules answered.
    const lines = [...ctx.answers].sort(([a], [b]) => a.localeCompare(b)).map(([op, t]) => `  ${op}: ${[...t].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`).join(', ')}`);
    console.log(`fuzz seed ${settings.seed}: ${ctx.sent} requests\n${lines.join('\n')}`);
  }
  // Remove only what this file created that others could see (its category; its accounts and
  // their listings stay, like every test's, and are told apart by their unique names).
  // A valid createProduct or createKeywordAlert may have pointed at it: then it stays too
  // (listings are never removed, and an alert is its owner's), under its plain name again: the
  // run may have renamed it to anything valid (an emoji), and later suites on this database read
  // the tree (newman's schema check reads the pattern's surrogate range without the unicode flag).
  if (world) {
    await world.stack.db.query(`UPDATE categories SET name = '퍼징 분류' WHERE id = $1`, [world.category.id]);
    await world.stack.db.query(
      `DELETE FROM categories c WHERE c.id = $1
          AND NOT EXISTS (SELECT 1 FROM products p WHERE p.category_id = c.id)
          AND NOT EXISTS (SELECT 1 FROM keyword_alerts k WHERE k.category_id = c.id)`,
      [world.category.id],
    );
  }
  await world?.stop();
}, 60_000);

const label = (op: FuzzOperation) => `${op.operationId} (${op.method.toUpperCase()} ${op.base}${op.template})`;
// Generous per property: a larger FUZZ_RUNS must not trip the timeout.
// Generous per request (a photo delete or a password hash on a loaded 2-core CI machine takes
// ~100 ms; an upload of real photos, whose processing jobs run in the same process, ~1 s).
const timeoutFor = (op: FuzzOperation, runs: number) => 60_000 + runs * settings.batch * (op.body?.kind === 'multipart' ? 1_000 : 100);

/** Properties that stopped at a failure, so sent fewer requests than planned. */
const stoppedEarly: string[] = [];

async function fuzz(op: FuzzOperation, kind: FuzzKind, title: string): Promise<void> {
  const numRuns = plan.get(op.operationId)![kind];
  const timeLimitMs = timeoutFor(op, numRuns) - 5_000;
  const property = fuzzProperty(ctx, op, kind, settings.batch);
  expect(property, `no ${kind} requests can be generated for ${op.operationId}`).not.toBeNull();
  try {
    const details = await runFuzz(property!, { seed: settings.seed, numRuns, path: settings.path, title, timeLimitMs });
    expect(details.numRuns).toBe(settings.path ? details.numRuns : numRuns);
  } catch (err) {
    stoppedEarly.push(`${op.operationId} (${kind})`);
    throw err;
  }
}

describe('fuzzing from the description: valid requests', () => {
  // Valid requests may take the seller's neighbourhood away; posting a listing needs it.
  beforeEach(() => world.restore());

  for (const op of spec.operations) {
    const title = `when ${label(op)} gets valid requests, then every answer is documented and none is a 5xx`;
    it(title, () => fuzz(op, 'valid', title), timeoutFor(op, plan.get(op.operationId)!.valid));
  }

  it('when the valid requests are done, then every operation with a multipart body has had files accepted', () => {
    if (settings.path) return;
    for (const op of spec.operations.filter((o) => o.body?.kind === 'multipart')) {
      const answers = [...(ctx.answers.get(`${op.operationId} valid`) ?? new Map<string, number>())];
      expect(answers.some(([k]) => /^2\d\d/.test(k)), `${op.operationId}: ${JSON.stringify(answers)}`).toBe(true);
    }
  });
});

describe('fuzzing from the description: invalid requests', () => {
  let before: Awaited<ReturnType<typeof storedState>>;
  const users = () => (world.pools.users ?? []).map((u) => u.id);
  beforeAll(async () => {
    // Valid uploads filled the upload listings, and a full listing refuses a form before reading
    // it: room again, so that broken forms reach the parser.
    await world.makeRoom();
    // Photos uploaded by valid requests are still being processed, events relayed: wait for quiet.
    before = await settledState(world.stack.db, ctx.runId, world.pools.ownIds, users());
  }, 90_000);

  for (const op of spec.operations.filter((o) => plan.get(o.operationId)!.invalid > 0)) {
    const title = `when ${label(op)} gets invalid requests, then each gets a documented 4xx problem`;
    it(title, () => fuzz(op, 'invalid', title), timeoutFor(op, plan.get(op.operationId)!.invalid));
  }

  it('when the invalid requests are done, then the categories, the listings, photos, likes and alerts of the fuzzer and the events are exactly as before', async () => {
    const { at: _before, ...expected } = before;
    const { at: _after, ...now } = await storedState(world.stack.db, ctx.runId, world.pools.ownIds, users());
    if (JSON.stringify(now) !== JSON.stringify(expected)) {
      expect.fail(`invalid requests changed stored state: ${JSON.stringify({ before: expected, after: now, changes: await changesSince(world.stack.db, ctx.runId, before.at, users()) }, null, 2)}`);
    }
    expect(now).toEqual(expected);
  });
});

describe('fuzzing budget', () => {
  it(`when the run is over, then at least ${settings.runs} generated requests were sent (seed ${settings.seed})`, () => {
    const planned = [...plan.values()].reduce((sum, p) => sum + (p.valid + p.invalid) * settings.batch, 0);
    expect(planned).toBeGreaterThanOrEqual(settings.runs);
    // A property stops at its first failure (already reported); only a clean run must reach the budget.
    if (!stoppedEarly.length && !settings.path) expect(ctx.sent).toBeGreaterThanOrEqual(settings.runs);
  });
});
