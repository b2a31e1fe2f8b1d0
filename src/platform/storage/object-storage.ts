import type { Readable } from 'node:stream';

/** An object as served back: its bytes as a stream, its media type and size. */
export interface OpenedObject {
  stream: Readable;
  contentType: string;
  /** Absent when the storage did not say (an S3-compatible service answering without Content-Length). */
  bytes?: number;
}

/**
 * Where uploaded files and their derivatives live: local disk by default, an S3-compatible
 * bucket in production. Keys are relative paths (`originals/…`, `products/…`); only the keys the
 * media route is told are public are ever served to clients (media-route.ts).
 */
export interface ObjectStorage {
  readonly driver: 'local' | 's3';
  /**
   * Stores the whole body under `key`, replacing what was there. When the body stream fails
   * (a byte limit the caller enforces while streaming, a client that went away) nothing is left
   * under the key and the stream's error is rethrown.
   */
  put(key: string, body: Readable | Buffer, contentType: string): Promise<{ bytes: number }>;
  /** The object's bytes, or null when there is none. */
  get(key: string): Promise<Buffer | null>;
  /** The object as a stream, for serving, or null when there is none. */
  open(key: string): Promise<OpenedObject | null>;
  /** Removes the objects; keys that hold nothing are ignored. */
  delete(keys: readonly string[]): Promise<void>;
  /**
   * Removes the temporary files of puts that have not been touched for `olderThanSeconds` (a
   * process died in the middle of one); how many.
   */
  sweepTemporary(olderThanSeconds: number): Promise<number>;
  close(): Promise<void>;
}

// Segments of letters, digits and `._-`: no `..`, no absolute paths, nothing a local path or
// an S3 key could read differently.
const KEY = /^(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\/){0,7}[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function assertValidKey(key: string): void {
  if (!KEY.test(key) || key.split('/').some((segment) => segment.includes('..'))) throw new Error(`invalid storage key '${key.slice(0, 300)}'`);
}

export const isValidKey = (key: string): boolean => KEY.test(key) && !key.split('/').some((segment) => segment.includes('..'));

const TYPES: Record<string, string> = { webp: 'image/webp', jpg: 'image/jpeg', png: 'image/png', heic: 'image/heic' };

/** The media type a key's extension names; local disk keeps no other metadata. */
export const contentTypeOf = (key: string): string => TYPES[key.slice(key.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
