import { Router } from 'express';
import { pipeline } from 'node:stream/promises';
import { notFound } from '../errors';
import { isValidKey, type ObjectStorage } from './object-storage';

/** Where the API serves stored objects when no CDN (MEDIA_BASE_URL) is in front of the storage. */
export const MEDIA_PATH = '/media';

/**
 * `GET /media/{key}`: the public objects of the storage, outside /v1, the rate limiter and the
 * validator (a listing page loads a dozen thumbnails at once). A key names one derivative of
 * one upload and is never rewritten with other content, so responses are cacheable for good.
 * `isPublic` says which keys those are, exactly: originals (which still carry their EXIF, GPS
 * position included), folders and files being written are never served.
 */
export function mediaRouter(storage: ObjectStorage, isPublic: (key: string) => boolean): Router {
  const router = Router();
  router.get(`${MEDIA_PATH}/*key`, async (req, res) => {
    res.locals.operationId = 'getMediaObject';
    const key = ([] as string[]).concat((req.params as { key?: string | string[] }).key ?? []).join('/');
    if (!isPublic(key) || !isValidKey(key)) throw notFound('No media object has this key.');
    const object = await storage.open(key);
    if (!object) throw notFound('No media object has this key.');
    res.status(200);
    res.setHeader('Content-Type', object.contentType);
    // Unknown size: sent chunked, as a made-up length would cut the image short or stall the client.
    if (object.bytes !== undefined) res.setHeader('Content-Length', String(object.bytes));
    // A key is one derivative of one upload, so its bytes never change (immutable); but a deleted
    // photo (a face, an address) must not live on in caches for long: a day, not a year.
    res.setHeader('Cache-Control', 'public, max-age=86400, immutable');
    // helmet's default (same-origin) would stop the web app on another origin from showing the image.
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    await pipeline(object.stream, res).catch((err: unknown) => {
      // A client that goes away mid-download is not a server error.
      if (!req.socket.destroyed) throw err;
    });
  });
  return router;
}
