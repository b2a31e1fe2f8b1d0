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
export const processImageJob = (photos: Pick<PhotoUseCases, 'process'>) =>
  defineJob<ProcessImagePayload>({
    queue: 'images',
    name: 'product-image.process',
    attempts: ATTEMPTS,
    backoffMs: 2_000,
    timeoutMs: 120_000,
    handle: (payload, ctx) =>
      photos.process(payload.image_id, { jobId: ctx.jobId, finalAttempt: ctx.attempt >= ATTEMPTS, log: ctx.log, ...(payload.request_id ? { requestId: payload.request_id } : {}) }),
  });

/** For the API, which only enqueues. */
export const PROCESS_IMAGE_JOB = processImageJob({ process: () => Promise.reject(new Error('photos are processed by the worker')) });
