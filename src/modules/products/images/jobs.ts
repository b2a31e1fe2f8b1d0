import { defineJob } from '../../../platform/jobs/job-definitions';
import type { PhotoUseCases } from './domain/photos';

export interface ProcessImagePayload {
  image_id: string;
  /** The upload's request id, for the event's correlation id. */
  request_id?: string;
}

const ATTEMPTS = 4;

/**
 * Makes the display version and thumbnail of one uploaded photo (sharp, in the worker). A file
 * that can never be decoded fails at once; anything else (storage, database) is retried, 2 s
 * doubling, and the photo is marked `failed` after the last attempt.
 */
export const processImageJob = (photos: Pick<PhotoUseCases, 'process' | 'processingAbandoned'>) =>
  defineJob<ProcessImagePayload>({
    queue: 'images',
    name: 'product-image.process',
    attempts: ATTEMPTS,
    backoffMs: 2_000,
    timeoutMs: 120_000,
    handle: (payload, ctx) =>
      photos.process(payload.image_id, { jobId: ctx.jobId, finalAttempt: ctx.attempt >= ATTEMPTS, log: ctx.log, signal: ctx.signal, ...(payload.request_id ? { requestId: payload.request_id } : {}) }),
    // A timeout on the last attempt, or a worker dying under the job too often: `process` never
    // saw its end, and the photo would stay `processing` with its original (and its EXIF) kept.
    onFailedForGood: (payload, _err, log) => photos.processingAbandoned(payload.image_id, log),
  });

export interface SweepPhotosPayload {
  /** Only photos deleted at least this long ago: PHOTO_SWEEP_GRACE_SECONDS when scheduled. */
  grace_seconds: number;
}

/** Longer than a processing job can run (its timeout), so its last writes are swept too. */
export const PHOTO_SWEEP_GRACE_SECONDS = 3_600;

/**
 * Deletes the files of deleted photos, and the photos of deleted listings; hourly. On the
 * maintenance queue, so a long first run (every photo deleted before it existed) never holds up
 * photo processing.
 */
export const sweepPhotosJob = (photos: Pick<PhotoUseCases, 'sweep'>) =>
  defineJob<SweepPhotosPayload>({
    queue: 'maintenance',
    name: 'product-image.sweep',
    attempts: 3,
    backoffMs: 60_000,
    timeoutMs: 30 * 60_000,
    handle: async (payload, ctx) => void (await photos.sweep(payload.grace_seconds, ctx.log)),
  });

/** For whoever only enqueues: the API, tests. */
export const SWEEP_PHOTOS_JOB = sweepPhotosJob({ sweep: () => Promise.reject(new Error('photos are swept by the worker')) });

/** For the API, which only enqueues. */
export const PROCESS_IMAGE_JOB = processImageJob({
  process: () => Promise.reject(new Error('photos are processed by the worker')),
  processingAbandoned: () => Promise.reject(new Error('photos are processed by the worker')),
});
