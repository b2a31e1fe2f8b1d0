import type Redis from 'ioredis';
import type { Sequelize } from 'sequelize';
import type { Subscription } from '../../../platform/events/subscriber';
import { eventRecorder } from '../../../platform/events/event-store';
import type { JobQueues } from '../../../platform/jobs/job-queues';
import { schedulePeriodic } from '../../../platform/jobs/periodic';
import { AttemptLimiter } from '../../../platform/limits/attempt-limiter';
import type { Logger } from '../../../platform/logger';
import { mediaRouter, MEDIA_PATH, type ObjectStorage } from '../../../platform/storage';
import { createPhotoRepository } from './data/photo-repository';
import { isDerivativeKey } from './domain/photo';
import { photoUploadPolicy, photoUseCases, type PhotosDeps } from './domain/photos';
import { deleteProductImage } from './http/deleteProductImage';
import { listProductImages } from './http/listProductImages';
import { reorderProductImages } from './http/reorderProductImages';
import { uploadProductImages } from './http/uploadProductImages';
import { PHOTO_SWEEP_GRACE_SECONDS, PROCESS_IMAGE_JOB, processImageJob, SWEEP_PHOTOS_JOB, sweepPhotosJob } from './jobs';

export interface MediaUrlConfig {
  MEDIA_BASE_URL?: string | undefined;
  PUBLIC_BASE_URL?: string | undefined;
  HOST: string;
  PORT: number;
}

/** Public URLs of stored derivatives: the CDN's when MEDIA_BASE_URL is set, else the API's own /media route. */
export function mediaUrlFor(c: MediaUrlConfig): (key: string) => string {
  const base = (c.MEDIA_BASE_URL ?? `${c.PUBLIC_BASE_URL ?? `http://${c.HOST === '0.0.0.0' ? '127.0.0.1' : c.HOST}:${c.PORT}`}${MEDIA_PATH}`).replace(/\/+$/, '');
  return (key) => `${base}/${key}`;
}

interface PhotosModuleDeps {
  sequelize: Sequelize;
  storage: ObjectStorage;
  jobs: JobQueues;
  mediaUrl: (key: string) => string;
}

/** The worker's use cases take no uploads (the API does). */
const NO_UPLOADS: PhotosDeps['uploads'] = { policy: photoUploadPolicy(1), hit: () => Promise.reject(new Error('photos are uploaded through the API')) };

function useCases(d: PhotosModuleDeps, uploads = NO_UPLOADS) {
  return photoUseCases({
    sequelize: d.sequelize,
    photos: createPhotoRepository(d.sequelize),
    storage: d.storage,
    recordEvents: eventRecorder(d.sequelize),
    enqueueProcessing: (imageId, requestId) => d.jobs.enqueue(PROCESS_IMAGE_JOB, { image_id: imageId, request_id: requestId }, { causationId: imageId }),
    processingState: (imageId) => d.jobs.state(PROCESS_IMAGE_JOB, imageId),
    mediaUrl: d.mediaUrl,
    uploads,
  });
}

/** Wires the photos component for the API: the image operations and the /media route. */
export function productImagesModule(d: PhotosModuleDeps & { redis: Redis; log: Logger; uploadLimit: number }) {
  const photos = useCases(d, new AttemptLimiter(d.redis, photoUploadPolicy(d.uploadLimit), d.log));
  return {
    photos,
    /** Mounted outside /v1 (app.ts `media`): serves the processed photos when no CDN does. */
    media: mediaRouter(d.storage, isDerivativeKey),
    handlers: {
      listProductImages: listProductImages(photos, d.mediaUrl),
      uploadProductImages: uploadProductImages(photos, d.mediaUrl),
      reorderProductImages: reorderProductImages(photos, d.mediaUrl),
      deleteProductImage: deleteProductImage(photos),
    },
  };
}

export type ProductImagesModule = ReturnType<typeof productImagesModule>;

/** The worker's jobs: processing uploaded photos (queue `images`), and the hourly sweep of deleted ones' files (queue `maintenance`). */
export function productImageJobs(d: PhotosModuleDeps) {
  const photos = useCases(d);
  const sweep = sweepPhotosJob(photos);
  return {
    processing: [processImageJob(photos)],
    sweep,
    /** Starts the hourly sweep (at start too); returns the function that stops it. */
    schedule: (log: Logger) => schedulePeriodic(d.jobs, sweep, { grace_seconds: PHOTO_SWEEP_GRACE_SECONDS }, { periodMs: 3_600_000, checkMs: 600_000, atStart: true }, log),
  };
}

/** The worker's subscription: a deleted listing's photos are deleted with it. */
export const deletedListingPhotosSubscription = (d: PhotosModuleDeps): Subscription => {
  const photos = useCases(d);
  return {
    name: 'photos.deleted-listings',
    events: ['product.deleted'],
    handle: async (event, { transaction, log }) => {
      const productId = (event.payload as { product_id: string }).product_id;
      const purged = await photos.purgeListing(productId, transaction, log);
      if (purged) log.info({ product_id: productId, photos: purged }, "deleted listing's photos deleted");
    },
  };
};

export { PHOTO_SWEEP_GRACE_SECONDS, PROCESS_IMAGE_JOB, SWEEP_PHOTOS_JOB };
