/**
 * A JSON document already serialised, still typed by what it encodes, so that hot reads can
 * keep and send cached bytes without parsing and re-serialising them.
 */
export type JsonBytes<T> = Buffer & { readonly __json?: T };

export const toJsonBytes = <T>(value: T): JsonBytes<T> => Buffer.from(JSON.stringify(value)) as JsonBytes<T>;
