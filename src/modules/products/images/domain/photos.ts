import type { Sequelize, Transaction } from 'sequelize';
import { Transform, type Readable } from 'node:stream';
import type { RequestContext } from '../../../../platform/context';
import { inTransaction } from '../../../../platform/db/transaction';
import { notFound } from '../../../../platform/errors';
import type { EventMetadata } from '../../../../platform/events/event';
import { metadataFrom, type RecordEvents } from '../../../../platform/events/event-store';
import type { MultipartBody } from '../../../../platform/http/multipart';
import type { AttemptLimiter, AttemptPolicy } from '../../../../platform/limits/attempt-limiter';
import type { Logger } from '../../../../platform/logger';
import type { ObjectStorage } from '../../../../platform/storage';
import type { PhotoRepository } from '../data/photo-repository';
import { SNIFF_BYTES, sniffImageType, type ImageType } from './image-format';
import { makeDerivatives, readHeader, UnprocessableImage } from './imaging';
import { MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, MAX_IMAGES_PER_LISTING, newImageId, photoFileKeys, storageKeys, type FailureReason, type Photo } from './photo';
import { imageLimitReached, imageOrderMismatch, imagePixelLimitExceeded, imageTooLarge, imageUnreadable, noImages, photoUploadLimitReached, unsupportedImageType } from './problems';

export interface PhotosDeps {
  sequelize: Sequelize;
  photos: PhotoRepository;
  storage: ObjectStorage;
  recordEvents: RecordEvents;
  /** Queues the processing of one uploaded photo; the same photo twice is one job. */
  enqueueProcessing: (imageId: string, requestId: string) => Promise<unknown>;
  /** The state of a photo's processing job in the queue (`failed`, `active`, …), null when the queue holds none. */
  processingState: (imageId: string) => Promise<string | null>;
  /** The public URL of a stored derivative. */
  mediaUrl: (key: string) => string;
  /** Counts a seller's uploads (photoUploadPolicy, keyed by seller). */
  uploads: Pick<AttemptLimiter, 'hit' | 'policy'>;
}

/**
 * Upload requests per seller in 10 minutes (PHOTO_UPLOAD_LIMIT, default 30: up to 300 photos, far
 * above what posting 30 listings a day needs). Every photo costs the worker a decode and two
 * encodes, on one queue shared by everyone, so one account uploading and deleting in a loop would
 * leave everyone else's photos `processing` for hours.
 */
export const photoUploadPolicy = (limit: number): AttemptPolicy => ({ name: 'photo-uploads', limit, windowSeconds: 600 });

/** What the worker tells `process` about the run. */
export interface ProcessingRun {
  jobId: string;
  /** No retry follows this run if it fails. */
  finalAttempt: boolean;
  /** The upload's request id, to correlate the event with it. */
  requestId?: string;
  log: Logger;
  /** Aborted when the run times out: its retry may already be running, so it stops writing. */
  signal: AbortSignal;
}

/** Headers of every accepted format fit well within this (a JPEG's EXIF and ICC segments come first). */
const HEAD_BYTES = 256 * 1024;
/** A photo still `processing` after this long may have lost its job (Redis was down at upload). */
const STALE_PROCESSING_MS = 60_000;

/** Listings, or photos, handled per query by the sweep. */
const SWEEP_BATCH = 200;
/** Photos stuck in processing looked at per sweep. */
const STUCK_BATCH = 1_000;
/** Bull job states from which a photo's job will not run again. */
const OVER = new Set(['failed', 'completed', 'stuck']);

const productRef = (id: string) => ({ type: 'product', id });

/**
 * Passes a file's bytes through, keeping the first HEAD_BYTES for the header check, and fails
 * the stream as soon as the first bytes show no accepted image type, so a wrong file is not
 * even stored whole.
 */
function inspectHead(index: number) {
  const chunks: Buffer[] = [];
  let kept = 0;
  let type: ImageType | null | undefined;
  const sniff = () => (type = sniffImageType(Buffer.concat(chunks)));
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (kept < HEAD_BYTES) {
        const part = chunk.subarray(0, HEAD_BYTES - kept);
        chunks.push(part);
        kept += part.length;
      }
      if (type === undefined && kept >= SNIFF_BYTES && !sniff()) return callback(unsupportedImageType(index));
      callback(null, chunk);
    },
    flush(callback) {
      if (type === undefined && !sniff()) return callback(unsupportedImageType(index));
      callback();
    },
  });
  return { stream, head: () => Buffer.concat(chunks), type: () => type ?? null };
}

export function photoUseCases(deps: PhotosDeps) {
  const { sequelize, photos, storage, recordEvents, enqueueProcessing, processingState, mediaUrl } = deps;
  /** Photos whose processing is being queued again by a list read. */
  const requeueing = new Set<string>();

  /** Only the seller manages photos; to anyone else the listing does not exist. */
  const requireOwnListing = async (ctx: RequestContext, productId: string, t?: Transaction) => {
    const listing = await photos.listing(productId, t);
    if (!listing || listing.deleted || listing.sellerId !== ctx.actor?.userId) throw notFound('No listing of yours has this id.');
    return listing.sellerId;
  };

  /** `product.images_changed` with the ready photos in order: what buyers see from now on. */
  const recordImagesChanged = async (t: Transaction, productId: string, metadata: EventMetadata) => {
    const ready = (await photos.live(productId, t)).filter((p) => p.status === 'ready');
    const images = ready.map((p, position) => ({ id: p.id, url: mediaUrl(p.displayKey!), thumbnail_url: mediaUrl(p.thumbKey!), width: p.width!, height: p.height!, position }));
    await recordEvents(t, productRef(productId), [{ type: 'product.images_changed', payload: { product_id: productId, images } }], metadata);
  };

  const readyIds = (list: Photo[]) => list.filter((p) => p.status === 'ready').map((p) => p.id).join(',');

  /** Best effort: true when the files are deleted (or were gone). */
  const discard = (log: Logger, keys: (string | null)[]): Promise<boolean> =>
    storage.delete(keys.filter((k): k is string => k !== null)).then(
      () => true,
      (err: unknown) => (log.warn({ err, keys }, 'could not delete stored photo files'), false),
    );

  /** Deletes files that include the photo's original and, once they are gone, forgets the original; else the sweep deletes it later. */
  const discardWithOriginal = async (log: Logger, imageId: string, keys: (string | null)[]) => {
    if (!(await discard(log, keys))) return;
    await photos.originalsDeleted([imageId]).catch((err: unknown) => log.warn({ err, image_id: imageId }, 'original deleted but still recorded; the sweep forgets it'));
  };

  /**
   * Marks a photo that is still processing `failed`: it will never be shown. Unless it is shown
   * (ready), its files are deleted either way, also when it was deleted meanwhile: the original
   * (with its EXIF) and whatever derivatives an attempt stored before it failed, which /media
   * would otherwise serve. True when marked.
   */
  const giveUp = async (imageId: string, reason: FailureReason, log: Logger): Promise<boolean> => {
    const photo = await photos.find(imageId);
    if (!photo) return false;
    const outcome = await sequelize.transaction(async (t) => {
      // The listing's lock before the photo's, the order of every change of its photos: the
      // opposite order could deadlock with them.
      await photos.listing(photo.productId, t);
      const current = await photos.find(imageId, t);
      if (!current) return null;
      const marked = !current.deletedAt && current.status === 'processing';
      if (marked) await photos.markFailed(imageId, reason, t);
      const shown = !current.deletedAt && current.status === 'ready';
      return { marked, keys: shown ? [] : photoFileKeys(current) };
    });
    if (outcome?.keys.length) await discardWithOriginal(log, imageId, outcome.keys);
    return outcome?.marked ?? false;
  };

  /** Streams one file to storage as a private original, then checks its header. */
  const storeOriginal = async (ctx: RequestContext, productId: string, file: { index: number; stream: Readable }, stored: string[]) => {
    const id = newImageId();
    const key = storageKeys(productId, id).original;
    const inspected = inspectHead(file.index);
    // The file's own failure (over the size limit) or the inspection's (not an image) can come
    // before the storage starts reading; kept here, it is what the upload answers with.
    let failure: unknown;
    inspected.stream.on('error', (err) => (failure ??= err));
    file.stream.once('error', (err) => inspected.stream.destroy(err));
    const type = () => inspected.type()!;
    const { bytes } = await storage.put(key, file.stream.pipe(inspected.stream), 'application/octet-stream').catch((err: unknown) => {
      throw failure ?? err;
    });
    stored.push(key);
    const head = inspected.head();
    // A header longer than HEAD_BYTES (rare: huge embedded previews) is read from the stored file.
    const header = (await readHeader(head, type())) ?? (bytes > head.length ? await readHeader((await storage.get(key)) ?? head, type()) : null);
    if (!header) throw imageUnreadable(file.index);
    if (header.width * header.height > MAX_IMAGE_PIXELS) throw imagePixelLimitExceeded(file.index, header.width, header.height);
    ctx.log.debug({ image_id: id, type: type(), bytes }, 'photo original stored');
    return { id, key, contentType: type(), bytes };
  };

  /**
   * Photos still `processing` `graceSeconds` after their upload (longer than a job's attempts
   * take): the queue says why. No job (lost at upload, or forgotten): queued again. A job failed
   * for good, done without marking the photo, or `stuck` (Bull holds it in no list: it will never
   * run, and queueing its id again is a no-op): the photo is failed and its original deleted (the
   * job's own failure hook does this at once; this is its backstop). A job waiting, delayed,
   * running or paused (a backlog): left alone. The oldest STUCK_BATCH per run; the rest on the next.
   */
  async function resolveStuck(graceSeconds: number, log: Logger): Promise<{ requeued: number; abandoned: number }> {
    let requeued = 0;
    let abandoned = 0;
    for (const photo of await photos.stillProcessing(graceSeconds, STUCK_BATCH)) {
      const state = await processingState(photo.id);
      if (state === null) {
        await enqueueProcessing(photo.id, `sweep:${photo.id}`);
        requeued++;
      } else if (OVER.has(state) && (await giveUp(photo.id, 'processing_failed', log))) {
        abandoned++;
      }
    }
    if (requeued || abandoned) log.warn({ requeued, abandoned }, 'photos stuck in processing resolved');
    return { requeued, abandoned };
  }

  return {
    /** The seller's view of a listing's photos, in order, processing state included. */
    async list(ctx: RequestContext, productId: string): Promise<Photo[]> {
      await requireOwnListing(ctx, productId);
      const list = await photos.live(productId);
      // Self-healing for a job lost at upload: queueing is idempotent per photo.
      const stale = list.filter((p) => p.status === 'processing' && Date.now() - p.createdAt.getTime() > STALE_PROCESSING_MS);
      // Not waited for, as at upload: while Redis is down the queueing never settles, so one
      // already under way for a photo is not started again by every read of the list.
      for (const p of stale.filter((photo) => !requeueing.has(photo.id))) {
        requeueing.add(p.id);
        void enqueueProcessing(p.id, ctx.requestId)
          .catch((err: unknown) => ctx.log.warn({ err, image_id: p.id }, 'could not requeue photo processing'))
          .finally(() => requeueing.delete(p.id));
      }
      return list;
    },

    /**
     * Stores the uploaded files as private originals (all or nothing), records them as
     * `processing` after the listing's photos and queues their processing.
     */
    async upload(ctx: RequestContext, productId: string, body: MultipartBody): Promise<Photo[]> {
      let room: number;
      try {
        const sellerId = await requireOwnListing(ctx, productId);
        room = MAX_IMAGES_PER_LISTING - (await photos.live(productId)).length;
        if (room <= 0) throw imageLimitReached(0);
        // Counted once the request is the seller's and has room: a refused one costs the worker nothing.
        const quota = await deps.uploads.hit(sellerId);
        if (!quota.allowed) throw photoUploadLimitReached(deps.uploads.policy.limit, deps.uploads.policy.windowSeconds, quota.retryAfterSeconds);
      } catch (err) {
        body.drop({ maxFiles: MAX_IMAGES_PER_LISTING, maxFileBytes: MAX_IMAGE_BYTES });
        throw err;
      }

      const stored: string[] = [];
      // Set once the rows are written in a transaction of our own: a failure after that is COMMIT's,
      // whose outcome is unknown (a reply lost on a connection that committed), and Sequelize runs
      // the after-commit hooks (the processing jobs) either way.
      let committing = false;
      try {
        const files = await body.files(
          { field: 'images', maxFiles: room, maxFileBytes: MAX_IMAGE_BYTES, tooMany: () => imageLimitReached(room), tooLarge: imageTooLarge },
          (file) => storeOriginal(ctx, productId, file, stored),
        );
        if (files.length === 0) throw noImages();
        const created = await inTransaction(sequelize, ctx, async (t) => {
          await requireOwnListing(ctx, productId, t);
          // Checked again under the listing's lock: two uploads at once cannot pass ten together.
          const live = await photos.live(productId, t);
          if (live.length + files.length > MAX_IMAGES_PER_LISTING) throw imageLimitReached(MAX_IMAGES_PER_LISTING - live.length);
          const rows: Photo[] = files.map((f, i) => ({
            id: f.id,
            productId,
            sellerId: ctx.actor!.userId,
            originalKey: f.key,
            displayKey: null,
            thumbKey: null,
            contentType: f.contentType,
            bytes: f.bytes,
            width: null,
            height: null,
            position: live.length + i,
            status: 'processing',
            failureReason: null,
            createdAt: new Date(),
            deletedAt: null,
          }));
          await photos.insert(rows, t);
          // Once the rows are durable the originals are theirs, whatever happens to the queueing:
          // it is not waited for (a Redis outage would hold the answer), and a photo whose job was
          // lost is queued again by the seller's next look at the photos or by the sweep.
          t.afterCommit(() => {
            Promise.all(rows.map((p) => enqueueProcessing(p.id, ctx.requestId))).catch((err: unknown) =>
              ctx.log.warn({ err, image_ids: rows.map((p) => p.id) }, 'photo processing not queued; it will be queued again'),
            );
          });
          committing = !ctx.transaction;
          return rows;
        });
        return created;
      } catch (err) {
        if (committing) {
          // The rows may be durable, and their jobs need the originals: keep them. If the commit
          // did fail they are orphans, private (never served) and named here for clean-up.
          ctx.log.error({ err, keys: stored }, 'photo upload commit outcome unknown; originals kept');
          throw err;
        }
        // Nothing was recorded: the stored originals belong to no photo.
        await discard(ctx.log, stored);
        throw err;
      }
    },

    /** Sets the order of all the listing's photos; `product.images_changed` when buyers' order changes. */
    async reorder(ctx: RequestContext, productId: string, imageIds: string[]): Promise<Photo[]> {
      return inTransaction(sequelize, ctx, async (t) => {
        await requireOwnListing(ctx, productId, t);
        const before = await photos.live(productId, t);
        const known = new Set(before.map((p) => p.id));
        const unknown = imageIds.filter((id) => !known.has(id));
        const missing = before.filter((p) => !imageIds.includes(p.id)).map((p) => p.id);
        // The spec's uniqueItems refuses these first; checked here too, since a repeat would leave a gap in the positions.
        const repeated = [...new Set(imageIds.filter((id, i) => imageIds.indexOf(id) !== i))];
        if (unknown.length || missing.length || repeated.length) {
          const parts = [
            unknown.length ? `not photos of this listing: ${unknown.join(', ')}` : '',
            missing.length ? `missing: ${missing.join(', ')}` : '',
            repeated.length ? `repeated: ${repeated.join(', ')}` : '',
          ];
          throw imageOrderMismatch(`Send every photo of the listing exactly once (${parts.filter(Boolean).join('; ')}).`);
        }
        await photos.setOrder(productId, imageIds, t);
        const after = await photos.live(productId, t);
        if (readyIds(after) !== readyIds(before)) await recordImagesChanged(t, productId, metadataFrom(ctx));
        return after;
      });
    },

    /**
     * For a deleted listing (by its seller or a moderator): its photos go too, rows soft-deleted
     * in the event's transaction and files deleted once it commits, so that nothing of it stays
     * public under /media. A photo still processing is skipped by its job (it checks deleted_at).
     */
    async purgeListing(productId: string, t: Transaction, log: Logger): Promise<number> {
      const gone = await photos.softDeleteAll(productId, t);
      const keys = gone.flatMap(photoFileKeys);
      if (keys.length) t.afterCommit(() => void discard(log, keys));
      return gone.length;
    },

    /**
     * The backstop behind `purgeListing` and `remove`, which delete files once, best effort:
     * listings deleted at least `graceSeconds` ago with photos still live get them purged, and
     * every photo deleted at least that long ago has its files deleted (again): long enough for a
     * processing job that was already running to have stopped writing them, and for the
     * deletion's own subscriber to have run. Each photo is swept once (files_deleted_at); files
     * already gone are not an error. Originals of live photos done with that are still stored (their
     * deletion after processing failed, or the worker died first) are deleted, and temporary files
     * of puts that a dead process left are removed too.
     */
    async sweep(graceSeconds: number, log: Logger): Promise<{ listings: number; photos: number; originals: number; temporary: number; requeued: number; abandoned: number }> {
      // A storage failure throws: the job retries, and nothing is marked swept that was not.
      const deleteFiles = async (gone: Photo[]) => {
        if (!gone.length) return;
        await storage.delete(gone.flatMap(photoFileKeys));
        await photos.markFilesDeleted(gone.map((p) => p.id));
      };
      let listings = 0;
      let swept = 0;
      for (;;) {
        const ids = await photos.deletedListingsWithLivePhotos(graceSeconds, SWEEP_BATCH);
        for (const id of ids) {
          // The listing has been gone for the grace already: no job still writes its photos.
          const gone = await sequelize.transaction((t) => photos.softDeleteAll(id, t));
          await deleteFiles(gone);
          swept += gone.length;
        }
        listings += ids.length;
        if (ids.length < SWEEP_BATCH) break;
      }
      for (;;) {
        const pending = await photos.filesPending(graceSeconds, SWEEP_BATCH);
        await deleteFiles(pending);
        swept += pending.length;
        if (pending.length < SWEEP_BATCH) break;
      }
      // Originals of photos done with whose deletion after processing failed, or never ran (the
      // worker died after the commit). No job reads them: process() stops at a photo not processing.
      let originals = 0;
      for (;;) {
        const left = await photos.originalsLeft(graceSeconds, SWEEP_BATCH);
        if (left.length) {
          await storage.delete(left.map((p) => p.originalKey!));
          await photos.originalsDeleted(left.map((p) => p.id));
        }
        originals += left.length;
        if (left.length < SWEEP_BATCH) break;
      }
      // No put runs for the grace (a request or a job times out long before). Best effort: it
      // must not keep the stuck photos below from being resolved.
      const temporary = await storage.sweepTemporary(graceSeconds).catch((err: unknown) => (log.warn({ err }, 'temporary storage files not swept'), 0));
      if (listings || swept || originals || temporary) log.info({ listings, photos: swept, originals, temporary }, 'deleted photos swept');
      return { listings, photos: swept, originals, temporary, ...(await resolveStuck(graceSeconds, log)) };
    },

    /** Removes a photo, closes the gap, deletes its files after commit; `product.images_changed` if it was shown. */
    async remove(ctx: RequestContext, productId: string, imageId: string): Promise<void> {
      const removed = await inTransaction(sequelize, ctx, async (t) => {
        await requireOwnListing(ctx, productId, t);
        const live = await photos.live(productId, t);
        const photo = live.find((p) => p.id === imageId);
        if (!photo) throw notFound('This listing has no photo with this id.');
        await photos.softDelete(imageId, t);
        await photos.setOrder(productId, live.filter((p) => p.id !== imageId).map((p) => p.id), t);
        if (photo.status === 'ready') await recordImagesChanged(t, productId, metadataFrom(ctx));
        return photo;
      });
      // The derivatives too when still processing: the job may write them after this.
      await discard(ctx.log, photoFileKeys(removed));
    },

    /** The processing job failed for good where `process` could not tell (a timeout, a dead worker): the photo will not be ready. */
    async processingAbandoned(imageId: string, log: Logger): Promise<void> {
      if (await giveUp(imageId, 'processing_failed', log)) log.warn({ image_id: imageId }, 'photo processing abandoned: its job failed for good');
    },

    /**
     * The worker's part: makes the display version and thumbnail (EXIF stripped), marks the photo
     * `ready` and records `product.images_changed`; or marks it `failed` when the file can never
     * be processed, or on the last attempt. The original is deleted either way.
     */
    async process(imageId: string, run: ProcessingRun): Promise<void> {
      const photo = await photos.find(imageId);
      // Deleted, or already done by an earlier run of this job.
      if (!photo || photo.deletedAt || photo.status !== 'processing' || !photo.originalKey) return;
      const keys = storageKeys(photo.productId, photo.id);
      const metadata: EventMetadata = { causation_id: run.jobId, ...(run.requestId ? { correlation_id: run.requestId } : {}) };
      try {
        const original = await storage.get(photo.originalKey);
        if (!original) throw new UnprocessableImage('processing_failed', new Error('the original is missing from storage'));
        const made = await makeDerivatives(original, photo.contentType);
        run.signal.throwIfAborted();
        await storage.put(keys.display, made.display, 'image/webp');
        run.signal.throwIfAborted();
        await storage.put(keys.thumb, made.thumb, 'image/webp');
        run.signal.throwIfAborted();
        const outcome = await sequelize.transaction(async (t) => {
          const listing = await photos.listing(photo.productId, t);
          const current = await photos.find(imageId, t);
          if (!current || current.deletedAt) return 'deleted' as const;
          // Failed meanwhile: the job's failure hook gave up on it after a last-attempt timeout,
          // while this run went on (a timeout does not stop the handler). What it wrote is nobody's.
          if (current.status === 'failed') return 'abandoned' as const;
          if (current.status !== 'processing') return 'done' as const;
          await photos.markReady(imageId, { displayKey: keys.display, thumbKey: keys.thumb, width: made.width, height: made.height }, t);
          if (listing && !listing.deleted) await recordImagesChanged(t, photo.productId, metadata);
          return 'ready' as const;
        });
        if (outcome === 'deleted' || outcome === 'abandoned') await discard(run.log, [keys.display, keys.thumb]);
        await discardWithOriginal(run.log, imageId, [photo.originalKey]);
        run.log.info({ image_id: imageId, outcome, width: made.width, height: made.height }, 'photo processed');
      } catch (err) {
        const permanent = err instanceof UnprocessableImage;
        if (!permanent && !run.finalAttempt) throw err;
        const reason = permanent ? err.reason : 'processing_failed';
        await giveUp(imageId, reason, run.log);
        run.log.warn({ err, image_id: imageId, reason }, 'photo processing failed');
        if (!permanent) throw err;
      }
    },
  };
}

export type PhotoUseCases = ReturnType<typeof photoUseCases>;
