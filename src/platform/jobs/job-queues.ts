import type { Job, Queue } from 'bull';
import type { Logger } from '../logger';
import type { QueueFactory } from '../queues';
import type { AnyJobDefinition, JobContext, JobDefinition } from './job-definitions';

export interface EnqueueOptions {
  /** What caused the job, e.g. the id of the event being consumed: one cause, one job. */
  causationId: string;
  delayMs?: number;
  /**
   * Gives up waiting after this long (a retryable error): Bull's connection waits out a Redis
   * outage, and a caller inside a transaction would hold its locks and connection meanwhile. The
   * add may still land later; its job id keeps a retry from adding a second.
   */
  timeoutMs?: number;
}

/** Redis did not take the job in time; retryable (the subscribers' isTransient reads `retryable`). */
export class EnqueueTimeoutError extends Error {
  readonly retryable = true;
  constructor(job: string, timeoutMs: number) {
    super(`job '${job}' not enqueued within ${timeoutMs} ms`);
    this.name = 'EnqueueTimeoutError';
  }
}

export interface ProcessOptions {
  /** Jobs of one queue that run at once in this process. */
  concurrency: number;
}

export class JobTimeoutError extends Error {
  constructor(job: string, ms: number) {
    super(`job '${job}' timed out after ${ms} ms`);
    this.name = 'JobTimeoutError';
  }
}

/**
 * The Bull id of a job: the same name and cause give the same id, and Bull does not add a job
 * whose id it still holds. So a redelivered event does not enqueue its job twice, as long as
 * the first job is kept (DEFAULT_JOB_OPTIONS bounds how long finished jobs are).
 */
export function jobIdFor(name: string, causationId: string): string {
  if (!causationId || causationId.length > 200) throw new Error(`job '${name}': causationId must be 1 to 200 characters`);
  return `${name}|${causationId}`;
}

const rejectWhenAborted = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));

/**
 * Enqueues jobs declared with `defineJob` (API and worker) and runs them (worker only), with a
 * timeout per job and failures, stalls and queue errors logged.
 */
export class JobQueues {
  private readonly processed = new Set<string>();
  private readonly running = new Map<string, AbortController>();
  private closing: Promise<void> | undefined;

  constructor(private readonly factory: QueueFactory, private readonly log: Logger) {}

  /** Adds the job unless one for the same cause is already held; resolves to its job id. */
  async enqueue<P>(def: JobDefinition<P>, payload: P, { causationId, delayMs, timeoutMs }: EnqueueOptions): Promise<string> {
    const jobId = jobIdFor(def.name, causationId);
    const added = this.factory.get(def.queue).add(def.name, payload, {
      jobId,
      attempts: def.attempts,
      backoff: { type: 'exponential', delay: def.backoffMs },
      ...(delayMs && delayMs > 0 ? { delay: delayMs } : {}),
    });
    if (timeoutMs === undefined) {
      await added;
      return jobId;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([added, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new EnqueueTimeoutError(def.name, timeoutMs)), timeoutMs)))]);
    } finally {
      clearTimeout(timer);
      // A late failure of the add it gave up on is nobody's to handle.
      added.catch(() => undefined);
    }
    return jobId;
  }

  /**
   * Adds the job once for the current period of `periodMs`, however many processes ask how often.
   * The job id alone does not do it: Bull forgets the ids of completed jobs past the
   * `removeOnComplete` count, which a busy queue reaches within hours. So a Redis marker records
   * that the period's job was added, set only once the add succeeded: a lost reply or a crash in
   * between means another add, which the job id dedupes while Bull holds the job, never a lost
   * period. True when this call added it (or found Bull still holding it).
   */
  async enqueueOncePer<P>(def: JobDefinition<P>, payload: P, periodMs: number): Promise<boolean> {
    const period = `${def.name}:${Math.floor(Date.now() / periodMs)}`;
    if (await this.factory.marked(period)) return false;
    await this.enqueue(def, payload, { causationId: period });
    await this.factory.mark(period, Math.ceil((2 * periodMs) / 1000));
    return true;
  }

  /** Starts processing the definitions' queues in this process; all jobs of a queue come in one call. */
  async process(defs: readonly AnyJobDefinition[], { concurrency }: ProcessOptions): Promise<void> {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('concurrency must be a positive integer');
    const byQueue = new Map<string, Map<string, AnyJobDefinition>>();
    for (const def of defs) {
      if (this.processed.has(def.queue)) throw new Error(`queue '${def.queue}' is already processed here; pass all its jobs in one process() call`);
      const named = byQueue.get(def.queue) ?? new Map<string, AnyJobDefinition>();
      if (named.has(def.name)) throw new Error(`job '${def.name}' is defined twice on queue '${def.queue}'`);
      byQueue.set(def.queue, named.set(def.name, def));
    }
    await Promise.all(
      [...byQueue].map(async ([name, named]) => {
        this.processed.add(name);
        const queue = this.factory.get(name);
        this.report(queue, named);
        // One catch-all processor per queue: Bull starts `concurrency` loops per process() call,
        // so one call per job name would multiply the concurrency by the number of names.
        queue
          .process('*', concurrency, (job: Job) => this.run(name, named, job))
          .catch((err: unknown) => this.log.error({ err, queue: name }, 'queue processor stopped'));
        await queue.isReady();
      }),
    );
  }

  all(): Queue[] {
    return this.factory.all();
  }

  /**
   * The queues of these definitions, made now if need be: for the board and the metrics in a
   * process that has not enqueued to every queue yet (the API), where `all()` would miss some.
   */
  queuesOf(defs: readonly AnyJobDefinition[]): Queue[] {
    return [...new Set(defs.map((def) => def.queue))].map((name) => this.factory.get(name));
  }

  /**
   * Stops taking jobs and lets the active ones finish, up to `timeoutMs`; then aborts what still
   * runs (those jobs are retried, here or elsewhere) and closes the factory's queues and connections.
   */
  close(timeoutMs = 8_000): Promise<void> {
    return (this.closing ??= this.shutdown(timeoutMs));
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    if (!(await this.factory.drain(timeoutMs))) {
      this.log.warn({ jobs: [...this.running.keys()], timeout_ms: timeoutMs }, 'queues did not drain in time; aborting running jobs, they will be retried');
      for (const controller of this.running.values()) controller.abort(new Error('worker shutting down'));
    }
    await this.factory.close(0);
  }

  private async run(queue: string, named: ReadonlyMap<string, AnyJobDefinition>, job: Job): Promise<void> {
    const def = named.get(job.name);
    // Enqueued by a newer release than this worker runs: failing the attempt retries it after
    // backoff, by when an updated worker may be there to take it.
    if (!def) throw new Error(`no handler for job '${job.name}' on queue '${queue}' in this worker`);
    const jobId = String(job.id);
    const attempt = job.attemptsMade + 1;
    const controller = new AbortController();
    // Bull's own `timeout` only stops waiting; the abort also tells the handler to stop, so a
    // retry does not run next to a handler that is still going.
    const timer = setTimeout(() => controller.abort(new JobTimeoutError(def.name, def.timeoutMs)), def.timeoutMs);
    const key = `${queue}/${jobId}`;
    this.running.set(key, controller);
    try {
      const ctx: JobContext = { jobId, attempt, signal: controller.signal, log: this.log.child({ queue, job: def.name, job_id: jobId, attempt }) };
      await Promise.race([def.handle(job.data, ctx), rejectWhenAborted(controller.signal)]);
      // A handler that honours the signal may return normally; it still did not finish its work.
      if (controller.signal.aborted) throw controller.signal.reason;
    } catch (err) {
      // An error that says no retry can succeed (a refused key, invalid input: the providers'
      // errors carry `retryable`) fails the job now instead of spending its attempts.
      if ((err as { retryable?: unknown } | null)?.retryable === false) await job.discard();
      // Bull records `err.message` and the stack; a thrown string would leave both empty.
      throw err instanceof Error ? err : new Error(String(err));
    } finally {
      clearTimeout(timer);
      this.running.delete(key);
    }
  }

  /**
   * The state Bull holds for the job of this cause (`waiting`, `active`, `delayed`, `completed`,
   * `failed`, `paused`, or `stuck`: in no list, so it will never run), or null when it holds none:
   * never added, or forgotten (finished jobs are kept for a while only).
   */
  async state<P>(def: JobDefinition<P>, causationId: string): Promise<string | null> {
    const job = await this.factory.get(def.queue).getJob(jobIdFor(def.name, causationId));
    return job ? await job.getState() : null;
  }

  private report(queue: Queue, named: ReadonlyMap<string, AnyJobDefinition>): void {
    const log = this.log.child({ queue: queue.name });
    queue.on('failed', (job: Job | null, err: Error) => {
      const fields = { err, job: job?.name, job_id: job?.id, attempts_made: job?.attemptsMade, attempts: job?.opts.attempts };
      // Bull sets finishedOn only when the job is failed for good (attempts used up, or stalled too often).
      if (job && !job.finishedOn) return void log.warn(fields, 'job failed; will retry');
      log.error(fields, 'job failed for good');
      const onFailedForGood = job && named.get(job.name)?.onFailedForGood;
      if (onFailedForGood) {
        onFailedForGood(job.data, err, log).catch((hookErr: unknown) => log.error({ err: hookErr, job: job.name, job_id: job.id }, 'job failure hook failed'));
      }
    });
    queue.on('stalled', (job: Job) =>
      log.warn({ job: job.name, job_id: job.id }, 'job stalled (its worker died or blocked past the lock); queued again'),
    );
    queue.on('lock-extension-failed', (job: Job, err: Error) => log.warn({ err, job: job.name, job_id: job.id }, 'could not extend a job lock'));
    queue.on('error', (err: Error) => log.error({ err }, 'queue error'));
  }
}
