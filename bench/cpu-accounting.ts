import { readdirSync, readFileSync } from 'node:fs';

// Where a run's CPU went: user + system time from /proc (Linux only; elsewhere nothing is
// reported). On two shared cores a request's latency follows the CPU every process spends on it,
// so "per request" is the figure that says which side to work on (docs/performance.md, run 13).
// Counted: the servers this bench started (node processes below it: the API copies, the bare
// server), PostgreSQL and Redis (all of their processes: run the bench on a quiet machine), and
// the load generator (wrk: the bench's waited-for children, /proc/self/stat cutime + cstime).

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux the bench runs on

interface Proc {
  program: string;
  parent: number;
  seconds: number;
}

/** Fields after the program name (which is in parentheses and may hold spaces), from 0: state. */
function statFields(stat: string): { program: string; fields: string[] } {
  const close = stat.lastIndexOf(')');
  return { program: stat.slice(stat.indexOf('(') + 1, close), fields: stat.slice(close + 2).split(' ') };
}

function snapshot(): { procs: Map<number, Proc>; waitedChildren: number } | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  const procs = new Map<number, Proc>();
  for (const pid of pids) {
    try {
      const { program, fields } = statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      // man 5 proc: ppid is field 4, utime 14, stime 15 (1-based, the name being field 2).
      procs.set(Number(pid), { program, parent: Number(fields[1]), seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  const self = statFields(readFileSync('/proc/self/stat', 'utf8')).fields;
  // cutime 16, cstime 17: children that ended and were waited for (each run's wrk).
  return { procs, waitedChildren: (Number(self[13]) + Number(self[14])) / TICKS_PER_SECOND };
}

function isBelow(pid: number, ancestor: number, procs: Map<number, Proc>): boolean {
  for (let p = procs.get(pid)?.parent, hops = 0; p !== undefined && p > 1 && hops < 64; p = procs.get(p)?.parent, hops++) {
    if (p === ancestor) return true;
  }
  return false;
}

/** Starts counting; the returned function tells the CPU milliseconds per request since, by program. */
export function countCpu(): (requests: number) => string {
  const before = snapshot();
  return (requests) => {
    const after = snapshot();
    if (!before || !after || requests === 0) return '';
    const spent = new Map<string, number>();
    for (const [pid, now] of after.procs) {
      const side = now.program === 'node' && isBelow(pid, process.pid, after.procs) ? 'servers (node)' : now.program === 'postgres' ? 'postgres' : now.program === 'redis-server' ? 'redis' : null;
      if (!side) continue;
      const was = before.procs.get(pid);
      const delta = now.seconds - (was && was.program === now.program ? was.seconds : 0);
      if (delta > 0) spent.set(side, (spent.get(side) ?? 0) + delta);
    }
    const perRequest = (seconds: number) => ((seconds / requests) * 1000).toFixed(2);
    const served = [...spent.values()].reduce((sum, s) => sum + s, 0);
    const parts = [...spent.entries()].map(([side, seconds]) => `${side} ${perRequest(seconds)}`);
    return `cpu ms/request: ${parts.join(', ')}; together ${perRequest(served)}; load generator ${perRequest(after.waitedChildren - before.waitedChildren)}`;
  };
}
