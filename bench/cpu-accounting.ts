import { readdirSync, readFileSync } from 'node:fs';

// Where a run's CPU went, by program: user + system time from /proc/<pid>/stat (Linux only;
// elsewhere nothing is reported). On two shared cores a request's latency follows the CPU every
// process spends on it, so "per request" is the figure that says which side to work on
// (docs/performance.md, run 13). The bench's own process is left out; `wrk` is the load generator.

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux the bench runs on

type Snapshot = Map<number, { program: string; seconds: number }>;

function snapshot(): Snapshot | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  const out: Snapshot = new Map();
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The program name is in parentheses and may hold spaces; the fields after it are fixed.
      const close = stat.lastIndexOf(')');
      const program = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      // After the name: state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
      const seconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
      out.set(Number(pid), { program: program === 'redis-server' ? 'redis' : program, seconds });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return out;
}

const SHOWN = ['node', 'postgres', 'redis', 'wrk'];

/** Starts counting; the returned function tells the CPU milliseconds per request of each program since. */
export function countCpu(): (requests: number) => string {
  const before = snapshot();
  return (requests) => {
    const after = snapshot();
    if (!before || !after || requests === 0) return '';
    const spent = new Map<string, number>();
    for (const [pid, now] of after) {
      const was = before.get(pid);
      const delta = now.seconds - (was && was.program === now.program ? was.seconds : 0);
      if (delta > 0) spent.set(now.program, (spent.get(now.program) ?? 0) + delta);
    }
    const parts = SHOWN.filter((p) => spent.has(p)).map((p) => `${p} ${((spent.get(p)! / requests) * 1000).toFixed(2)}`);
    const served = ['node', 'postgres', 'redis'].reduce((sum, p) => sum + (spent.get(p) ?? 0), 0);
    return `cpu ms/request: ${parts.join(', ')}; API+PG+Redis ${((served / requests) * 1000).toFixed(2)}`;
  };
}
