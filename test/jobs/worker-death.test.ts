import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ENV } from '../support/env';
import { effectJob, FAST_STALL_SETTINGS } from './fixtures/effect-job';
import { openJobQueues, removeQueues, waitFor } from './fixtures/harness';

interface WorkerProcess {
  child: ChildProcessWithoutNullStreams;
  /** Everything the process printed so far (its JSON log lines and fixture signals). */
  output: () => string;
  /** Resolves with the first fixture signal of this kind. */
  signalled: (fixture: string, timeoutMs?: number) => Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/jobs/fixtures/effect-worker.ts'], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const signalled = (fixture: string, timeoutMs = 15_000) =>
    waitFor(
      `"${fixture}" from the worker process`,
      async () =>
        out
          .split('\n')
          .filter((line) => line.startsWith('{"fixture"'))
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .find((m) => m.fixture === fixture),
      timeoutMs,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- worker output ---\n${out}`);
    });
  return { child, output: () => out, signalled, exited };
}

describe('a Bull job whose worker dies mid-job', () => {
  const suffix = randomBytes(5).toString('hex');
  const effects = `test_job_effects_${suffix}`;
  const runs = `test_job_runs_${suffix}`;
  const pg = new Client({ connectionString: TEST_ENV.DATABASE_URL });
  const opened = openJobQueues({ settings: FAST_STALL_SETTINGS });
  const started: WorkerProcess[] = [];

  beforeAll(async () => {
    await pg.connect();
    await pg.query(`CREATE TABLE ${effects} (job_id text PRIMARY KEY, note text NOT NULL)`);
    await pg.query(`CREATE TABLE ${runs} (id serial PRIMARY KEY, job_id text NOT NULL, pid integer NOT NULL)`);
  });

  afterAll(async () => {
    for (const w of started) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await Promise.all(started.map((w) => w.exited));
    await opened.jobs.close(1_000);
    await removeQueues(opened.prefix);
    await pg.query(`DROP TABLE IF EXISTS ${effects}, ${runs}`);
    await pg.end();
  });

  it('when the worker is SIGKILLed after the effect but before completion, then a second worker retries the stalled job and the effect exists once', async () => {
    const env = { REDIS_URL: TEST_ENV.REDIS_URL, DATABASE_URL: TEST_ENV.DATABASE_URL, JOB_PREFIX: opened.prefix, EFFECT_TABLE: effects, RUNS_TABLE: runs, LOG_LEVEL: 'info' };
    const queue = opened.factory.get('effects');
    const stateOf = async (jobId: string) => (await queue.getJob(jobId))?.getState();

    const first = startWorker({ ...env, HANG_AFTER_EFFECT: '1' });
    started.push(first);
    await first.signalled('ready');
    const jobId = await opened.jobs.enqueue(
      effectJob(() => Promise.reject(new Error('only the worker process runs this job'))),
      { note: 'escrow released for order ord_1' },
      { causationId: 'evt_escrow_timer_1' },
    );
    const written = await first.signalled('effect-written');
    expect(written.jobId).toBe(jobId);

    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // Killed mid-job: Bull still has it as active, under a lock nobody renews any more.
    expect(await stateOf(jobId)).toBe('active');

    const second = startWorker({ ...env, HANG_AFTER_EFFECT: '0' });
    started.push(second);
    await second.signalled('ready');
    await waitFor('the stalled job to complete on the second worker', async () => (await stateOf(jobId)) === 'completed', 15_000);

    const effectRows = await pg.query(`SELECT job_id, note FROM ${effects}`);
    expect(effectRows.rows).toEqual([{ job_id: jobId, note: 'escrow released for order ord_1' }]);
    const runRows = await pg.query<{ pid: number }>(`SELECT pid FROM ${runs} ORDER BY id`);
    expect(runRows.rows.map((r) => r.pid)).toEqual([first.child.pid, second.child.pid]);
    // Recovered as stalled, not as a failed attempt.
    const job = await queue.getJob(jobId);
    expect(job?.attemptsMade).toBe(0);
    expect(await queue.client.hget(`${opened.prefix}:effects:${jobId}`, 'stalledCounter')).toBe('1');
    expect(second.output()).toContain('"msg":"job stalled (its worker died or blocked past the lock); queued again"');

    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(second.output()).toContain('"fixture":"stopped"');
  }, 45_000);
});
