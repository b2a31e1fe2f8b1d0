import type { JobDefinition } from './job-definitions';
import type { JobQueues } from './job-queues';

export interface PeriodicOptions {
  /** One job per period: the period's number is the job's cause. */
  periodMs: number;
  /** How often to ask (defaults to the period); asking again within a period adds nothing. */
  checkMs?: number;
  /** Ask once at start too, so a worker restarted more often than the period still runs the job. */
  atStart?: boolean;
}

/**
 * Schedules a periodic job: every worker running side by side asks, and one job per period runs
 * (JobQueues.enqueueOncePer; its cause is `name:period`). Returns the function that stops asking.
 */
export function schedulePeriodic<P>(
  jobs: JobQueues,
  def: JobDefinition<P>,
  payload: P,
  { periodMs, checkMs = periodMs, atStart = false }: PeriodicOptions,
  log: { warn: (obj: object, msg: string) => void },
): () => void {
  const ask = () => void jobs.enqueueOncePer(def, payload, periodMs).catch((err: unknown) => log.warn({ err, job: def.name }, 'could not schedule a job'));
  if (atStart) ask();
  const timer = setInterval(ask, checkMs);
  timer.unref();
  return () => clearInterval(timer);
}
