import type { Logger } from '../logger';

export interface JobContext {
  /** Derived from the job name and the cause: stable across retries, usable as an idempotency key. */
  jobId: string;
  /** 1 on the first run. A run cut short by a dead worker (a stall) is not counted as an attempt. */
  attempt: number;
  log: Logger;
  /** Aborted when the job times out or the worker shuts down; pass it on to fetch and the like. */
  signal: AbortSignal;
}

export interface JobSpec<P> {
  queue: string;
  /** Unique within its queue. */
  name: string;
  attempts?: number;
  /** First retry delay; each further retry waits twice as long. */
  backoffMs?: number;
  timeoutMs?: number;
  /**
   * Runs at least once per cause, and more than once when a worker dies mid-job or a retry
   * follows a timeout: make its effects idempotent (unique keys, ON CONFLICT DO NOTHING,
   * provider idempotency keys from `ctx.jobId`). The payload went through JSON. Throw an error
   * with `retryable: false` when no retry can succeed: the job then fails without retrying.
   */
  handle: (payload: P, ctx: JobContext) => Promise<void>;
  /**
   * Runs in the worker once the job has failed for good, however it failed: attempts used up, a
   * timeout on the last attempt (which `handle` never sees end), or a worker dying under it too
   * often (a stall). For records that must not stay "in progress" for ever. Best effort (a worker
   * that dies at that moment skips it): keep a backstop that finds what it missed.
   */
  onFailedForGood?: (payload: P, err: Error, log: Logger) => Promise<void>;
}

export type JobDefinition<P> = Readonly<Required<Omit<JobSpec<P>, 'onFailedForGood'>> & Pick<JobSpec<P>, 'onFailedForGood'>>;

// Heterogeneous lists of definitions (a worker's processors) cannot name one payload type.
export type AnyJobDefinition = JobDefinition<any>;

export const JOB_DEFAULTS = { attempts: 5, backoffMs: 1_000, timeoutMs: 60_000 } as const;

// '|' separates name and cause in job ids; ':' is Redis key structure.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Declares a named job of a component (in its `jobs.ts`): where it queues, how it retries, what it does. */
export function defineJob<P>(spec: JobSpec<P>): JobDefinition<P> {
  for (const [field, value] of [['queue', spec.queue], ['name', spec.name]] as const) {
    if (!NAME.test(value)) throw new Error(`job ${field} '${value}' must match ${NAME}`);
  }
  const def: JobDefinition<P> = {
    ...spec,
    attempts: spec.attempts ?? JOB_DEFAULTS.attempts,
    backoffMs: spec.backoffMs ?? JOB_DEFAULTS.backoffMs,
    timeoutMs: spec.timeoutMs ?? JOB_DEFAULTS.timeoutMs,
  };
  if (!Number.isInteger(def.attempts) || def.attempts < 1) throw new Error(`job '${spec.name}': attempts must be a positive integer`);
  if (!(def.backoffMs >= 0) || !(def.timeoutMs > 0)) throw new Error(`job '${spec.name}': backoffMs must be >= 0 and timeoutMs > 0`);
  return Object.freeze(def);
}
