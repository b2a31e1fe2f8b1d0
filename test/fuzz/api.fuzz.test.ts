import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/app';
import { changesSince, createFuzzContext, createOwnCategory, fuzzProperty, fuzzSettings, planRuns, runFuzz, storedState, type FuzzContext, type FuzzKind } from './harness';
import { loadFuzzSpec, type FuzzOperation } from './spec';

// Property-based tests generated from generated/openapi.json: every operation, under /v1 and at
// the root, with and without tokens. docs/fuzzing.md says what is generated and how to replay.

const spec = loadFuzzSpec();
const settings = fuzzSettings();
const plan = planRuns(spec.operations, settings);

let api: TestApi;
let db: Client;
let ctx: FuzzContext;
let own: { id: string };

beforeAll(async () => {
  api = await startTestApi();
  db = new Client({ connectionString: api.config.DATABASE_URL });
  await db.connect();
  own = await createOwnCategory(db, settings.seed);
  ctx = await createFuzzContext({ baseUrl: api.url, config: api.config, spec, ownIds: [own.id] });
});
afterAll(async () => {
  // Remove only what this file created (the events of its own category stay, like every test's).
  if (own) await db.query('DELETE FROM categories WHERE id = $1', [own.id]);
  await db?.end();
  await api?.stop();
});

const label = (op: FuzzOperation) => `${op.operationId} (${op.method.toUpperCase()} ${op.base}${op.template})`;
// Generous per property: a larger FUZZ_RUNS must not trip the timeout.
const timeoutFor = (runs: number) => 30_000 + runs * settings.batch * 25;

/** Properties that stopped at a failure, so sent fewer requests than planned. */
const stoppedEarly: string[] = [];

async function fuzz(op: FuzzOperation, kind: FuzzKind, title: string): Promise<void> {
  const numRuns = plan.get(op.operationId)![kind];
  const property = fuzzProperty(ctx, op, kind, settings.batch);
  expect(property, `no ${kind} requests can be generated for ${op.operationId}`).not.toBeNull();
  try {
    const details = await runFuzz(property!, { seed: settings.seed, numRuns, path: settings.path, title });
    expect(details.numRuns).toBe(settings.path ? details.numRuns : numRuns);
  } catch (err) {
    stoppedEarly.push(`${op.operationId} (${kind})`);
    throw err;
  }
}

describe('fuzzing from the description: valid requests', () => {
  for (const op of spec.operations) {
    const title = `when ${label(op)} gets valid requests, then every answer is documented and none is a 5xx`;
    it(title, () => fuzz(op, 'valid', title), timeoutFor(plan.get(op.operationId)!.valid));
  }
});

describe('fuzzing from the description: invalid requests', () => {
  let before: Awaited<ReturnType<typeof storedState>>;
  beforeAll(async () => {
    before = await storedState(db, ctx.runId, [own.id]);
  });

  for (const op of spec.operations.filter((o) => plan.get(o.operationId)!.invalid > 0)) {
    const title = `when ${label(op)} gets invalid requests, then each gets a documented 4xx problem`;
    it(title, () => fuzz(op, 'invalid', title), timeoutFor(plan.get(op.operationId)!.invalid));
  }

  it('when the invalid requests are done, then the categories and the events are exactly as before', async () => {
    const { at: _before, ...expected } = before;
    const { at: _after, ...now } = await storedState(db, ctx.runId, [own.id]);
    if (JSON.stringify(now) !== JSON.stringify(expected)) {
      expect.fail(`invalid requests changed stored state: ${JSON.stringify({ before: expected, after: now, changes: await changesSince(db, ctx.runId, before.at) }, null, 2)}`);
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
