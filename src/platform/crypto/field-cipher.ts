import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/** One data-encryption key of the ring. The id is written into every value it encrypts. */
export interface FieldKey {
  id: string;
  /** 32 bytes: AES-256. */
  key: Buffer;
}

export interface KeyRing {
  /** New values are written under this key; the others only decrypt. */
  activeKeyId: string;
  keys: FieldKey[];
}

export type FieldCipherErrorCode = 'invalid_key_ring' | 'malformed' | 'unknown_key' | 'authentication_failed';

/** A key ring that cannot be used, or a stored value that cannot be decrypted. */
export class FieldCipherError extends Error {
  constructor(
    readonly code: FieldCipherErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'FieldCipherError';
  }
}

/** Encrypts personal data for storage: `v1.<keyId>.<iv>.<ciphertext>.<tag>`, parts base64url. */
export interface FieldCipher {
  readonly activeKeyId: string;
  /**
   * `aad` binds the value to where it is stored (e.g. `users.phone:<user id>`): a ciphertext
   * copied to another row then fails to decrypt instead of showing one user another's data.
   */
  encrypt(plaintext: string, aad?: string): string;
  decrypt(value: string, aad?: string): string;
  /** True when the value was written under a key other than the active one (re-encrypt it). */
  needsRotation(value: string): boolean;
}

const VERSION = 'v1';
const KEY_BYTES = 32;
// 96-bit IVs are GCM's native size; random ones are safe for well under 2^32 values per key.
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

/** A FieldCipher over AES-256-GCM with the given key ring. */
export function createFieldCipher(ring: KeyRing): FieldCipher {
  const keys = new Map<string, Buffer>();
  for (const { id, key } of ring.keys) {
    if (!KEY_ID.test(id)) throw new FieldCipherError('invalid_key_ring', `key id "${id}" must be 1 to 32 of A-Z a-z 0-9 _ -`);
    if (keys.has(id)) throw new FieldCipherError('invalid_key_ring', `key id "${id}" appears twice`);
    if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) throw new FieldCipherError('invalid_key_ring', `key "${id}" must be ${KEY_BYTES} bytes`);
    keys.set(id, Buffer.from(key));
  }
  const active = keys.get(ring.activeKeyId);
  if (!active) throw new FieldCipherError('invalid_key_ring', `the active key "${ring.activeKeyId}" is not in the ring`);
  const activeKeyId = ring.activeKeyId;

  return {
    activeKeyId,
    encrypt(plaintext, aad) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', active, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(associatedData(activeKeyId, aad));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, activeKeyId, b64url(iv), b64url(ciphertext), b64url(cipher.getAuthTag())].join('.');
    },
    decrypt(value, aad) {
      const { keyId, iv, ciphertext, tag } = parse(value);
      const key = keys.get(keyId);
      if (!key) throw new FieldCipherError('unknown_key', `the value was encrypted under key "${keyId}", which is not in the ring`);
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(associatedData(keyId, aad));
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch {
        throw new FieldCipherError('authentication_failed', 'the value does not authenticate: altered, or read with the wrong associated data');
      }
    },
    needsRotation: (value) => parse(value).keyId !== activeKeyId,
  };
}

// The header goes into the AAD too, so the version and key id are authenticated like the rest.
// The NUL keeps "k1" + "2:x" apart from "k12" + ":x".
const associatedData = (keyId: string, aad = '') => Buffer.from(`${VERSION}.${keyId}\0${aad}`, 'utf8');

function parse(value: string): { keyId: string; iv: Buffer; ciphertext: Buffer; tag: Buffer } {
  const parts = typeof value === 'string' ? value.split('.') : [];
  if (parts.length !== 5) throw new FieldCipherError('malformed', 'an encrypted value has five dot-separated parts');
  const [version, keyId, iv, ciphertext, tag] = parts as [string, string, string, string, string];
  if (version !== VERSION) throw new FieldCipherError('malformed', `unsupported format version "${version}"`);
  if (!KEY_ID.test(keyId)) throw new FieldCipherError('malformed', 'the key id is not valid');
  if (![iv, ciphertext, tag].every((p) => B64URL.test(p))) throw new FieldCipherError('malformed', 'the parts must be base64url');
  const decoded = { keyId, iv: Buffer.from(iv, 'base64url'), ciphertext: Buffer.from(ciphertext, 'base64url'), tag: Buffer.from(tag, 'base64url') };
  // Node accepts truncated GCM tags unless told otherwise; a short tag is a forgery shortcut.
  if (decoded.iv.length !== IV_BYTES || decoded.tag.length !== TAG_BYTES) throw new FieldCipherError('malformed', 'the IV or the tag has the wrong length');
  return decoded;
}

const b64url = (bytes: Buffer) => bytes.toString('base64url');

/**
 * Parses a key ring from configuration: `k2:<base64 of 32 bytes>,k1:<base64 of 32 bytes>`.
 * The first key is the active one; the rest stay only to read older values.
 */
export function parseKeyRing(spec: string): KeyRing {
  const entries = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new FieldCipherError('invalid_key_ring', 'the key ring is empty; expected "<id>:<base64 key>[,<id>:<base64 key>...]"');
  const keys = entries.map((entry, i) => {
    const colon = entry.indexOf(':');
    if (colon < 1) throw new FieldCipherError('invalid_key_ring', `entry ${i + 1} is not "<id>:<base64 key>"`);
    const id = entry.slice(0, colon);
    return { id, key: decodeKey(entry.slice(colon + 1), `key "${id}"`) };
  });
  const ring = { activeKeyId: keys[0]!.id, keys };
  createFieldCipher(ring); // the same checks as at use, reported at start-up
  return ring;
}

/** Decodes one 32-byte key given as base64 (or base64url), with an error naming what it is. */
export function decodeKey(base64: string, name = 'the key'): Buffer {
  const text = base64.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) throw new FieldCipherError('invalid_key_ring', `${name} is not base64`);
  const key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== KEY_BYTES) throw new FieldCipherError('invalid_key_ring', `${name} is ${key.length} bytes; it must be ${KEY_BYTES} (openssl rand -base64 32)`);
  return key;
}

/**
 * Deterministic keyed hashes for looking up encrypted data without decrypting it. Each purpose
 * gets its own subkey (HKDF), so an e-mail index and a phone index never share values.
 */
export interface BlindIndexer {
  /** For equality look-ups of a value the caller has normalised (trimmed, lower-cased e-mail; E.164 phone). */
  blindIndex(value: string, purpose: string): string;
  /** For identifiers that are already canonical, such as a CI: one verified account per person. */
  keyedHash(value: string, purpose: string): string;
}

const PURPOSE = /^[a-z0-9][a-z0-9_.:-]{0,63}$/;

/** A BlindIndexer under `indexKey` (32 bytes), a key kept apart from the encryption keys. */
export function createBlindIndexer(indexKey: Buffer): BlindIndexer {
  if (!Buffer.isBuffer(indexKey) || indexKey.length !== KEY_BYTES) throw new FieldCipherError('invalid_key_ring', `the index key must be ${KEY_BYTES} bytes`);
  const root = Buffer.from(indexKey);
  const subkeys = new Map<string, Buffer>();
  const subkey = (label: string) => {
    let key = subkeys.get(label);
    if (!key) {
      key = Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), `junggo/${label}`, KEY_BYTES));
      subkeys.set(label, key);
    }
    return key;
  };
  const hash = (kind: string) => (value: string, purpose: string) => {
    if (!PURPOSE.test(purpose)) throw new FieldCipherError('invalid_key_ring', `purpose "${purpose}" must be lower-case a-z 0-9 _ . : - (up to 64)`);
    return createHmac('sha256', subkey(`${kind}/${purpose}`)).update(value, 'utf8').digest('base64url');
  };
  return { blindIndex: hash('blind-index'), keyedHash: hash('keyed-hash') };
}

/** The personal-data keys as configured: the cipher from FIELD_ENCRYPTION_KEYS, the indexer from BLIND_INDEX_KEY. */
export function personalDataKeys(config: { FIELD_ENCRYPTION_KEYS: string; BLIND_INDEX_KEY: string }): { cipher: FieldCipher; indexer: BlindIndexer } {
  return { cipher: createFieldCipher(parseKeyRing(config.FIELD_ENCRYPTION_KEYS)), indexer: createBlindIndexer(decodeKey(config.BLIND_INDEX_KEY, 'BLIND_INDEX_KEY')) };
}
