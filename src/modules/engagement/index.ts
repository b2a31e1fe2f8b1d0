import type Redis from 'ioredis';
import type { Sequelize } from 'sequelize';
import { AppError } from '../../platform/errors';
import { eventRecorder } from '../../platform/events/event-store';
import type { Subscription } from '../../platform/events/subscriber';
import type { JobQueues } from '../../platform/jobs/job-queues';
import { schedulePeriodic } from '../../platform/jobs/periodic';
import { createRequireVerifiedNeighbourhood, RANGE_METERS } from '../neighbourhoods';
import { createDongRepository } from '../neighbourhoods/data/dong-repository';
import { createKeywordAlertRepository } from './data/keyword-alert-repository';
import { createLikeRepository } from './data/like-repository';
import { createListingReader } from './data/listing-reader';
import { createNotificationRepository } from './data/notification-repository';
import { createSimilarityRepository } from './data/similarity-repository';
import { createViewFlushRepository } from './data/view-flush-repository';
import { createViewStore } from './data/view-store';
import { keywordAlertUseCases, matchingAlertOf } from './domain/keyword-alerts';
import { likeUseCases } from './domain/likes';
import { notificationUseCases } from './domain/notifications';
import { recommendationUseCases } from './domain/recommendations';
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
import { computeSimilarityJob, flushViewsJob, notifyKeywordMatchJob, pruneViewLedgerJob, VIEW_LEDGER_RETENTION_DAYS } from './jobs';
import { keywordAlertSubscription, listingReviewNoticeSubscription, purchaseSignalSubscription } from './subscribers';

export { viewerOf } from './domain/views';
export type { ViewUseCases } from './domain/views';

interface EngagementDeps {
  sequelize: Sequelize;
  redis: Redis;
  /** Namespaces the Redis view counters like the Bull queues (QUEUE_PREFIX): deployments sharing a Redis keep apart. */
  namespace: string;
  /** Public URL of a stored photo derivative (the photos component's mediaUrlFor), for thumbnails in lists. */
  mediaUrl?: (key: string) => string;
  /** The listings component's detail cache invalidation, for like counts (see likeUseCases). */
  likeCountChanged?: (productId: string) => Promise<void>;
}

const views = (d: EngagementDeps) => viewUseCases({ store: createViewStore(d.redis, d.namespace), flushes: createViewFlushRepository(d.sequelize) });

function recommendations(sequelize: Sequelize, mediaUrl?: (key: string) => string) {
  const dongs = createDongRepository(sequelize);
  const requireNeighbourhood = createRequireVerifiedNeighbourhood(sequelize);
  const around = async (code: string, radius: number) => (await dongs.within(code, radius)).map((d) => d.code);
  return recommendationUseCases({
    similarity: createSimilarityRepository(sequelize),
    listings: createListingReader(sequelize, mediaUrl),
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
  const recs = recommendations(d.sequelize, d.mediaUrl);
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
    notify: async (match, causationId) => void (await d.jobs.enqueue(notify, match, { causationId })),
  });
  const flush = flushViewsJob(views(d));
  const similarity = computeSimilarityJob(createSimilarityRepository(d.sequelize));
  const pruneLedger = pruneViewLedgerJob(createViewFlushRepository(d.sequelize));
  const subscriptions: Subscription[] = [keywordAlertSubscription(alerts), purchaseSignalSubscription(d.sequelize), listingReviewNoticeSubscription(d.sequelize, notifications)];
  const stops: (() => void)[] = [];

  return {
    flush,
    similarity,
    notify,
    pruneLedger,
    subscriptions,
    /** Starts the job processors and the schedules. */
    async start(log: { warn: (obj: object, msg: string) => void }): Promise<void> {
      await d.jobs.process([flush, similarity, pruneLedger], { concurrency: 1 });
      await d.jobs.process([notify], { concurrency: 4 });
      stops.push(schedulePeriodic(d.jobs, flush, {}, { periodMs: d.viewFlushIntervalMs }, log));
      stops.push(schedulePeriodic(d.jobs, similarity, {}, { periodMs: d.similarityIntervalMs }, log));
      stops.push(schedulePeriodic(d.jobs, pruneLedger, { retention_days: VIEW_LEDGER_RETENTION_DAYS }, { periodMs: 86_400_000, checkMs: 3_600_000, atStart: true }, log));
    },
    stop(): void {
      for (const stop of stops) stop();
    },
  };
}
export type EngagementWorker = ReturnType<typeof engagementWorker>;
