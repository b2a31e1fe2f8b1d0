import { defineJob } from '../../platform/jobs/job-definitions';
import type { KeywordAlertRepository } from './data/keyword-alert-repository';
import type { RetentionRepository } from './data/retention-repository';
import type { SimilarityRepository } from './data/similarity-repository';
import type { ViewFlushRepository } from './data/view-flush-repository';
import { SIMILARITY } from './data/similarity-repository';
import type { KeywordMatch } from './domain/keyword-alerts';
import type { NotificationUseCases } from './domain/notifications';
import type { ViewUseCases } from './domain/views';

/** Moves counted views from Redis to products.view_count; scheduled every few seconds by the worker. */
export const flushViewsJob = (views: Pick<ViewUseCases, 'flush'>) =>
  defineJob<Record<string, never>>({
    queue: 'engagement',
    name: 'engagement.flush-views',
    attempts: 3,
    backoffMs: 1_000,
    timeoutMs: 60_000,
    async handle(_payload, { log }) {
      // Every claimed batch is applied once (ledger) and only then dropped: a retry, or a second
      // worker running at the same time, never adds a batch twice.
      await views.flush(log);
    },
  });

/** Days a flushed batch's ledger row is kept: far longer than any retry of a batch takes. */
export const VIEW_LEDGER_RETENTION_DAYS = 7;

/** Deletes the view-flush ledger's old rows, which would otherwise grow by one row per batch for good; daily. */
export const pruneViewLedgerJob = (ledger: Pick<ViewFlushRepository, 'pruneLedger'>) =>
  defineJob<{ retention_days: number }>({
    queue: 'engagement',
    name: 'engagement.prune-view-ledger',
    attempts: 3,
    timeoutMs: 10 * 60_000,
    async handle({ retention_days }, { log }) {
      log.info({ deleted: await ledger.pruneLedger(retention_days) }, 'view-flush ledger pruned');
    },
  });

/**
 * Days a notification stays in the inbox, read or not: the inbox is for what is recent, and by
 * then a listing it announced is long sold or out of sight. Deleting a keyword notification does
 * not allow a second one of the same listing (pruneNotifications hands the guard to its match).
 */
export const NOTIFICATION_RETENTION_DAYS = 90;

/**
 * Deletes notifications past NOTIFICATION_RETENTION_DAYS; daily. On the maintenance queue, so a
 * long first run (the whole history) never holds up the view flush on the engagement queue.
 */
export const pruneNotificationsJob = (retention: Pick<RetentionRepository, 'pruneNotifications'>) =>
  defineJob<{ retention_days: number }>({
    queue: 'maintenance',
    name: 'engagement.prune-notifications',
    attempts: 3,
    timeoutMs: 10 * 60_000,
    async handle({ retention_days }, { log, signal }) {
      log.info({ deleted: await retention.pruneNotifications(retention_days, { signal }) }, 'notifications pruned');
    },
  });

/**
 * Days a view is kept as a signal: long after it says anything about what someone wants now
 * (recommendations read a user's latest interactions), and what someone looked at once must not
 * stay on record, feeding others' lists, for good. A like stays while it is a like.
 */
export const VIEW_RETENTION_DAYS = 180;

/** Deletes views older than `retention_days` (VIEW_RETENTION_DAYS) and marks their listings for a recompute; daily. */
export const pruneViewsJob = (retention: Pick<RetentionRepository, 'pruneViews'>) =>
  defineJob<{ retention_days: number }>({
    queue: 'maintenance',
    name: 'engagement.prune-views',
    attempts: 3,
    timeoutMs: 30 * 60_000,
    async handle({ retention_days }, { log, signal }) {
      log.info({ deleted: await retention.pruneViews(retention_days, { signal }) }, 'old views pruned');
    },
  });

/**
 * Deletes the keyword matches of sold and deleted listings; daily. It walks the whole match
 * table (an index range per step), hence the longer timeout.
 */
export const pruneKeywordMatchesJob = (retention: Pick<RetentionRepository, 'pruneMatchesOfEndedListings'>) =>
  defineJob<Record<string, never>>({
    queue: 'maintenance',
    name: 'engagement.prune-keyword-matches',
    attempts: 3,
    timeoutMs: 30 * 60_000,
    async handle(_payload, { log, signal }) {
      log.info({ deleted: await retention.pruneMatchesOfEndedListings({ signal }) }, 'keyword matches of ended listings pruned');
    },
  });

/** Recomputes the neighbours of items whose likes, views or purchases changed (incremental item-to-item CF). */
export const computeSimilarityJob = (similarity: SimilarityRepository) =>
  defineJob<Record<string, never>>({
    queue: 'engagement',
    name: 'engagement.compute-similarity',
    attempts: 3,
    timeoutMs: 5 * 60_000,
    async handle(_payload, { log, signal }) {
      let items = 0;
      // Bounded, so one run never starves the flush behind it; the rest waits for the next run.
      for (let round = 0; round < 50 && !signal.aborted; round++) {
        const claim = await similarity.claimDirty(SIMILARITY.batch);
        if (claim.ids.length === 0) break;
        try {
          if (!(await similarity.recompute(claim))) {
            await similarity.release(claim);
            return void log.debug('another similarity run holds the lock');
          }
        } catch (err) {
          await similarity.release(claim).catch(() => undefined);
          throw err;
        }
        items += claim.ids.length;
      }
      if (items) log.info({ items }, 'item similarity recomputed');
    },
  });

/** A match is looked at again once its own job had this long (its five attempts take ~30 s)... */
export const REDELIVERY_MIN_AGE_SECONDS = 600;
/** ...and until this old: a listing announced a day late is still news; older ones are not. */
export const REDELIVERY_MAX_AGE_SECONDS = 86_400;

/**
 * Queues again the deliveries of matches that have no notification (their job failed for good or
 * was lost: a database or Redis outage longer than its retries), hourly. Each run queues its own
 * jobs (the hour is in the cause); a delivery that happens meanwhile makes them no-ops (the
 * notification's unique key), as does one the delivery finds no longer due.
 */
export const redeliverKeywordMatchesJob = (
  alerts: Pick<KeywordAlertRepository, 'undelivered'>,
  requeue: (match: KeywordMatch, causationId: string) => Promise<unknown>,
) =>
  defineJob<Record<string, never>>({
    queue: 'maintenance',
    name: 'engagement.redeliver-keyword-matches',
    attempts: 3,
    timeoutMs: 10 * 60_000,
    async handle(_payload, { log }) {
      const hour = Math.floor(Date.now() / 3_600_000);
      const due = await alerts.undelivered(REDELIVERY_MIN_AGE_SECONDS, REDELIVERY_MAX_AGE_SECONDS, 5_000);
      for (const match of due) await requeue(match, `redeliver:${hour}:${match.productId}:${match.userId}`);
      if (due.length) log.warn({ queued: due.length }, 'undelivered keyword matches queued again');
    },
  });

/** Delivers one keyword-alert match (one per listing and user: the job id and the inbox's unique key). */
export const notifyKeywordMatchJob = (notifications: Pick<NotificationUseCases, 'deliverKeywordMatch'>) =>
  defineJob<KeywordMatch>({
    queue: 'notifications',
    name: 'engagement.notify-keyword-match',
    attempts: 5,
    backoffMs: 2_000,
    async handle(match, { log }) {
      if (await notifications.deliverKeywordMatch(match)) log.debug({ product_id: match.productId, user_id: match.userId }, 'keyword alert delivered');
    },
  });
