import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import type { Sequelize } from 'sequelize';
import { CachedJson } from '../../platform/cache/cached-json';
import { AppError } from '../../platform/errors';
import { eventRecorder } from '../../platform/events/event-store';
import type { Subscription } from '../../platform/events/subscriber';
import type { JobQueues } from '../../platform/jobs/job-queues';
import { schedulePeriodic } from '../../platform/jobs/periodic';
import type { Logger } from '../../platform/logger';
import { createRequireVerifiedNeighbourhood, RANGE_METERS } from '../neighbourhoods';
import { createDongRepository } from '../neighbourhoods/data/dong-repository';
import { createKeywordAlertRepository } from './data/keyword-alert-repository';
import { createLikeRepository } from './data/like-repository';
import { createListingReader } from './data/listing-reader';
import { createNotificationRepository } from './data/notification-repository';
import { createRetentionRepository } from './data/retention-repository';
import { createSimilarityRepository, type PopularEntry } from './data/similarity-repository';
import { createViewFlushRepository } from './data/view-flush-repository';
import { createViewStore } from './data/view-store';
import { keywordAlertUseCases, matchingAlertOf } from './domain/keyword-alerts';
import { likeUseCases } from './domain/likes';
import { notificationUseCases } from './domain/notifications';
import { POPULAR_LIST_SIZE, recommendationUseCases } from './domain/recommendations';
import { viewUseCases } from './domain/views';
import { createKeywordAlert } from './http/createKeywordAlert';
import { deleteKeywordAlert } from './http/deleteKeywordAlert';
import { likeProduct } from './http/likeProduct';
import { listMyKeywordAlerts } from './http/listMyKeywordAlerts';
import { listMyLikes } from './http/listMyLikes';
import { listMyNotifications } from './http/listMyNotifications';
import { markMyNotificationsRead } from './http/markMyNotificationsRead';
import { listMyRecommendations } from './http/listMyRecommendations';
import { listSimilarProducts } from './http/listSimilarProducts';
import { unlikeProduct } from './http/unlikeProduct';
import { updateMyNotification } from './http/updateMyNotification';
import {
  computeSimilarityJob,
  flushViewsJob,
  NOTIFICATION_RETENTION_DAYS,
  notifyKeywordMatchJob,
  redeliverKeywordMatchesJob,
  pruneKeywordMatchesJob,
  pruneNotificationsJob,
  pruneViewLedgerJob,
  pruneViewsJob,
  VIEW_LEDGER_RETENTION_DAYS,
  VIEW_RETENTION_DAYS,
} from './jobs';
import { keywordAlertSubscription, listingReviewNoticeSubscription, purchaseSignalSubscription, similarityListingStateSubscription } from './subscribers';

export { viewerOf } from './domain/views';
export type { ViewUseCases } from './domain/views';

interface EngagementDeps {
  sequelize: Sequelize;
  redis: Redis;
  log: Logger;
  /** Namespaces the Redis view counters like the Bull queues (QUEUE_PREFIX): deployments sharing a Redis keep apart. */
  namespace: string;
  /** Public URL of a stored photo derivative (the photos component's mediaUrlFor), for thumbnails in lists. */
  mediaUrl?: (key: string) => string;
  /** The listings component's detail cache invalidation, for like counts (see likeUseCases). */
  likeCountChanged?: (productId: string) => Promise<void>;
}

const views = (d: EngagementDeps) => viewUseCases({ store: createViewStore(d.redis, d.namespace), flushes: createViewFlushRepository(d.sequelize) });

/** The shared popular lists of the recommendations fallback (per top-level category or all, per dong set or anywhere). */
export const POPULAR_CACHE_KEY = 'cache:engagement:popular:v1';
/** How long a shared popular list is served: a listing that became popular shows up this much later. */
export const POPULAR_CACHE_TTL_SECONDS = 60;

function recommendations(sequelize: Sequelize, redis: Redis, log: Logger, mediaUrl?: (key: string) => string) {
  const dongs = createDongRepository(sequelize);
  const requireNeighbourhood = createRequireVerifiedNeighbourhood(sequelize);
  const around = async (code: string, radius: number) => (await dongs.within(code, radius)).map((d) => d.code);
  const similarity = createSimilarityRepository(sequelize);
  // The variant carries the whole slice (the load has nothing else); a dong set's lists share a
  // scope, a small hash each. In Redis only (no copy in process memory): the request makes
  // several database round trips anyway, and one place to expire makes the TTL exact.
  const popular = new CachedJson<PopularEntry[]>(
    redis,
    POPULAR_CACHE_KEY,
    POPULAR_CACHE_TTL_SECONDS,
    async (variant) => {
      const [categoryId, dongCodes] = JSON.parse(variant) as [string | null, string[] | null];
      return similarity.popularSlice({ ...(categoryId ? { categoryId } : {}), ...(dongCodes ? { dongCodes } : {}), limit: POPULAR_LIST_SIZE });
    },
    log,
    0,
    1,
  );
  return recommendationUseCases({
    similarity,
    listings: createListingReader(sequelize, mediaUrl),
    popularIn: async (slice, log) => {
      const dongCodes = slice.dongCodes ? [...new Set(slice.dongCodes)].sort() : null;
      const scope = dongCodes ? createHash('sha256').update(dongCodes.join(',')).digest('base64url').slice(0, 16) : '';
      const entry = await popular.get(JSON.stringify([slice.categoryId ?? null, dongCodes]), log, scope);
      return JSON.parse(entry.json.toString('utf8')) as PopularEntry[];
    },
    neighbourhoodOf: async (userId) => {
      try {
        const n = await requireNeighbourhood(userId);
        return around(n.dongCode, RANGE_METERS[n.range]);
      } catch (err) {
        if (err instanceof AppError && err.status === 403) return null;
        throw err;
      }
    },
    dongsAround: (code) => around(code, RANGE_METERS.medium),
  });
}

/** Wires likes, views, keyword alerts, notifications and recommendations for the API. */
export function engagementModule(d: EngagementDeps) {
  const listings = createListingReader(d.sequelize, d.mediaUrl);
  const likeRepository = createLikeRepository(d.sequelize);
  const likes = likeUseCases({
    sequelize: d.sequelize,
    likes: likeRepository,
    listings,
    recordEvents: eventRecorder(d.sequelize),
    ...(d.likeCountChanged ? { likeCountChanged: d.likeCountChanged } : {}),
  });
  const alertRepository = createKeywordAlertRepository(d.sequelize);
  // The API never matches listings (the worker does): its alert use cases only read and write alerts.
  const alerts = keywordAlertUseCases({
    sequelize: d.sequelize,
    alerts: alertRepository,
    notify: () => Promise.reject(new Error('keyword matching runs in the worker')),
  });
  const notifications = notificationUseCases({
    sequelize: d.sequelize,
    notifications: createNotificationRepository(d.sequelize),
    listings,
    matchingAlert: matchingAlertOf(alertRepository),
  });
  const recs = recommendations(d.sequelize, d.redis, d.log, d.mediaUrl);
  const counted = views(d);
  return {
    /**
     * For getProduct: counts a view of a listing detail, once per viewer per Korean day, never
     * the seller's own (pass `sellerId`). Never throws and need not be awaited.
     */
    recordView: counted.recordView,
    /** For getProduct's `liked_by_me`. */
    likedBy: (userId: string, productId: string): Promise<boolean> => likeRepository.exists(userId, productId),
    handlers: {
      likeProduct: likeProduct(likes),
      unlikeProduct: unlikeProduct(likes),
      listMyLikes: listMyLikes(likes),
      listSimilarProducts: listSimilarProducts(recs),
      listMyRecommendations: listMyRecommendations(recs),
      listMyKeywordAlerts: listMyKeywordAlerts(alerts),
      createKeywordAlert: createKeywordAlert(alerts),
      deleteKeywordAlert: deleteKeywordAlert(alerts),
      listMyNotifications: listMyNotifications(notifications),
      updateMyNotification: updateMyNotification(notifications),
      markMyNotificationsRead: markMyNotificationsRead(notifications),
    },
  };
}
export type EngagementModule = ReturnType<typeof engagementModule>;

/** The engagement side of the worker: its jobs, its event subscriptions and the timers that schedule the periodic jobs. */
export function engagementWorker(d: EngagementDeps & { jobs: JobQueues; viewFlushIntervalMs: number; similarityIntervalMs: number }) {
  const listings = createListingReader(d.sequelize);
  const alertRepository = createKeywordAlertRepository(d.sequelize);
  const notifications = notificationUseCases({
    sequelize: d.sequelize,
    notifications: createNotificationRepository(d.sequelize),
    listings,
    matchingAlert: matchingAlertOf(alertRepository),
  });
  const notify = notifyKeywordMatchJob(notifications);
  const alerts = keywordAlertUseCases({
    sequelize: d.sequelize,
    alerts: alertRepository,
    // Called in the event's inbox transaction, which holds the listing's match rows: bounded, so
    // a Redis outage rolls it back for a retry instead of holding them.
    notify: async (match, causationId) => void (await d.jobs.enqueue(notify, match, { causationId, timeoutMs: 5_000 })),
  });
  const flush = flushViewsJob(views(d));
  const similarity = computeSimilarityJob(createSimilarityRepository(d.sequelize));
  const pruneLedger = pruneViewLedgerJob(createViewFlushRepository(d.sequelize));
  const retention = createRetentionRepository(d.sequelize);
  const pruneNotifications = pruneNotificationsJob(retention);
  const pruneMatches = pruneKeywordMatchesJob(retention);
  const pruneViews = pruneViewsJob(retention);
  const redeliver = redeliverKeywordMatchesJob(alertRepository, (match, causationId) => d.jobs.enqueue(notify, match, { causationId }));
  const subscriptions: Subscription[] = [
    keywordAlertSubscription(alerts),
    purchaseSignalSubscription(d.sequelize),
    similarityListingStateSubscription(d.sequelize),
    listingReviewNoticeSubscription(d.sequelize, notifications),
  ];
  const stops: (() => void)[] = [];

  return {
    flush,
    similarity,
    notify,
    pruneLedger,
    /** Jobs of the `maintenance` queue, which the worker processes (all of a queue's jobs in one call); `start` schedules them. */
    maintenance: [pruneNotifications, pruneMatches, redeliver, pruneViews],
    subscriptions,
    /** Starts the processors of its own queues, and every schedule (the maintenance jobs' too). */
    async start(log: { warn: (obj: object, msg: string) => void }): Promise<void> {
      await d.jobs.process([flush, similarity, pruneLedger], { concurrency: 1 });
      await d.jobs.process([notify], { concurrency: 4 });
      stops.push(schedulePeriodic(d.jobs, flush, {}, { periodMs: d.viewFlushIntervalMs }, log));
      stops.push(schedulePeriodic(d.jobs, similarity, {}, { periodMs: d.similarityIntervalMs }, log));
      stops.push(schedulePeriodic(d.jobs, pruneLedger, { retention_days: VIEW_LEDGER_RETENTION_DAYS }, { periodMs: 86_400_000, checkMs: 3_600_000, atStart: true }, log));
      // Not at start: the first prune deletes months of notifications at once, and workers of the
      // release before it, still running during a rollout, know only the notification as the
      // guard against announcing a listing twice (not notified_at); an hour lets the rollout end.
      stops.push(schedulePeriodic(d.jobs, pruneNotifications, { retention_days: NOTIFICATION_RETENTION_DAYS }, { periodMs: 86_400_000, checkMs: 3_600_000 }, log));
      stops.push(schedulePeriodic(d.jobs, pruneMatches, {}, { periodMs: 86_400_000, checkMs: 3_600_000, atStart: true }, log));
      stops.push(schedulePeriodic(d.jobs, redeliver, {}, { periodMs: 3_600_000, checkMs: 600_000 }, log));
      stops.push(schedulePeriodic(d.jobs, pruneViews, { retention_days: VIEW_RETENTION_DAYS }, { periodMs: 86_400_000, checkMs: 3_600_000, atStart: true }, log));
    },
    stop(): void {
      for (const stop of stops) stop();
    },
  };
}
export type EngagementWorker = ReturnType<typeof engagementWorker>;
