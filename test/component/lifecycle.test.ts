import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { TEST_ENV } from '../support/env';

/** Starts an entry point as its own process, waits for a log line, sends SIGTERM, and collects the outcome. */
async function runUntilReady(entry: string, ready: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { ...process.env, ...TEST_ENV, LOG_LEVEL: 'info', PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${ready}" in time:\n${out}`)), 20_000);
    child.stdout.on('data', () => {
      if (out.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  return { code, out };
}

describe('process lifecycle', () => {
  it('when the API gets SIGTERM, then it drains, closes its clients and exits 0', async () => {
    const { code, out } = await runUntilReady('src/server.ts', '"api listening"');
    expect(out).toContain('"reason":"SIGTERM"');
    expect(out).toContain('"api stopped"');
    expect(code).toBe(0);
  });

  it('when the worker gets SIGTERM, then it closes queues and consumers and exits 0', async () => {
    const { code, out } = await runUntilReady('src/worker.ts', '"worker started"');
    expect(out).toContain('"worker stopped"');
    expect(code).toBe(0);
  });
});
