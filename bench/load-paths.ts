import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CONNECTIONS, DURATION, load, type Stats } from './lib';

// GETs of a list of paths in turn, the load of the catalog bench. wrk drives it when installed
// (`apt-get install wrk`): written in C, it leaves the two cores to the server, PostgreSQL and
// Redis (it took ~7 % of one under load); without wrk, autocannon, in the bench process. On this
// machine both measured the bare server at the same rate (docs/performance.md, run 6). Both are
// closed loops: a fixed number of connections, each sending its next request when the last one is
// answered.

const run = promisify(execFile);

export type LoadGenerator = 'wrk' | 'autocannon';

export async function loadGenerator(): Promise<LoadGenerator> {
  if (process.env.BENCH_LOAD_GENERATOR === 'autocannon') return 'autocannon';
  return run('wrk', ['--version']).then(
    () => 'wrk',
    // wrk --version exits 1 after printing its version.
    (err: { code?: unknown }) => (err.code === 'ENOENT' ? 'autocannon' : 'wrk'),
  );
}

interface PathLoad { base: string; paths: string[]; from?: number; connections?: number; duration?: number }

/** GETs `paths` in turn (from index `from`, wrapping) against `base` for the bench's duration. */
export async function loadPaths(generator: LoadGenerator, opts: PathLoad): Promise<Stats & { requests: number }> {
  return generator === 'wrk' ? loadWrk(opts) : loadAutocannon(opts);
}

async function loadAutocannon(opts: PathLoad): Promise<Stats & { requests: number }> {
  let n = opts.from ?? 0;
  const setupRequest = (req: Record<string, unknown>) => {
    n++;
    return { ...req, path: opts.paths[n % opts.paths.length], headers: { ...(req.headers as object), 'x-forwarded-for': `10.66.${(n >> 8) & 255}.${n & 255}` } };
  };
  const stats = await load({ url: opts.base, connections: opts.connections ?? CONNECTIONS, duration: opts.duration ?? DURATION, requests: [{ method: 'GET', setupRequest: setupRequest as never }] });
  return { ...stats, requests: n - (opts.from ?? 0) };
}

async function loadWrk(opts: PathLoad): Promise<Stats & { requests: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'junggo-wrk-'));
  try {
    const file = join(dir, 'paths.txt');
    await writeFile(file, `${opts.paths.join('\n')}\n`);
    const { stdout } = await run(
      'wrk',
      ['-t1', `-c${opts.connections ?? CONNECTIONS}`, `-d${opts.duration ?? DURATION}s`, '--timeout', '10s', '-s', join(__dirname, 'rotate-paths.lua'), opts.base, '--', file, String(opts.from ?? 0)],
      { maxBuffer: 1 << 20 },
    );
    const line = stdout.split('\n').find((l) => l.startsWith('{"requests"'));
    if (!line) throw new Error(`wrk printed no result:\n${stdout}`);
    const r = JSON.parse(line) as { requests: number; duration_us: number; p50_us: number; p95_us: number; p99_us: number; errors: number; non2xx: number };
    return {
      requests: r.requests,
      rps: r.requests / (r.duration_us / 1e6),
      p50: r.p50_us / 1000,
      p95: r.p95_us / 1000,
      p99: r.p99_us / 1000,
      errors: r.errors,
      non2xx: r.non2xx,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
