import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createBlindIndexer, createFieldCipher, FieldCipherError, parseKeyRing } from '../../src/platform/crypto/field-cipher';

const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };
const failureOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
};

describe('FieldCipher', () => {
  const cipher = createFieldCipher({ activeKeyId: 'k1', keys: [k1] });

  it('when Korean text is encrypted and decrypted, then it comes back unchanged in the v1.<key>.<iv>.<ct>.<tag> format', () => {
    const plaintext = '홍길동 · 서울특별시 강남구 테헤란로 1 🙂';

    const value = cipher.encrypt(plaintext);

    expect(value).toMatch(/^v1\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(value).not.toContain('홍길동');
    expect(cipher.decrypt(value)).toBe(plaintext);
    expect(cipher.decrypt(cipher.encrypt(''))).toBe('');
  });

  it('when the same text is encrypted twice, then the values differ (random IV)', () => {
    expect(cipher.encrypt('01012345678')).not.toBe(cipher.encrypt('01012345678'));
  });

  it('when any part of the value is altered, then decrypt throws a FieldCipherError and returns nothing', () => {
    const value = cipher.encrypt('민감한 정보', 'users.phone:42');
    const parts = value.split('.');
    const flip = (part: string) => {
      const bytes = Buffer.from(part, 'base64url');
      bytes[0] = bytes[0]! ^ 0x01;
      return bytes.toString('base64url');
    };
    const altered = (index: number, replacement: string) => parts.map((p, i) => (i === index ? replacement : p)).join('.');

    const cases = {
      version: [altered(0, 'v2'), 'malformed'],
      keyId: [altered(1, 'k9'), 'unknown_key'],
      iv: [altered(2, flip(parts[2]!)), 'authentication_failed'],
      ciphertext: [altered(3, flip(parts[3]!)), 'authentication_failed'],
      tag: [altered(4, flip(parts[4]!)), 'authentication_failed'],
      truncatedTag: [altered(4, parts[4]!.slice(0, 6)), 'malformed'],
      missingPart: [parts.slice(0, 4).join('.'), 'malformed'],
    } as const;

    for (const [name, [tampered, code]] of Object.entries(cases)) {
      const failure = failureOf(() => cipher.decrypt(tampered, 'users.phone:42'));
      expect(failure, name).toBeInstanceOf(FieldCipherError);
      expect(failure, name).toMatchObject({ code });
    }
  });

  it('when a value is relabelled with another key id of the ring, then it fails to authenticate', () => {
    const both = createFieldCipher({ activeKeyId: 'k1', keys: [k1, k2] });
    const value = both.encrypt('x');

    expect(failureOf(() => both.decrypt(value.replace(/^v1\.k1\./, 'v1.k2.')))).toMatchObject({ code: 'authentication_failed' });
  });

  it('when the key is rotated, then old values still decrypt, new ones use the active key, and needsRotation says which is which', () => {
    const before = createFieldCipher({ activeKeyId: 'k1', keys: [k1] });
    const old = before.encrypt('김철수', 'users.name:7');

    const after = createFieldCipher({ activeKeyId: 'k2', keys: [k2, k1] });
    const fresh = after.encrypt('김철수', 'users.name:7');

    expect(after.decrypt(old, 'users.name:7')).toBe('김철수');
    expect(fresh.startsWith('v1.k2.')).toBe(true);
    expect(after.needsRotation(old)).toBe(true);
    expect(after.needsRotation(fresh)).toBe(false);
    expect(failureOf(() => before.decrypt(fresh, 'users.name:7'))).toMatchObject({ code: 'unknown_key' });
  });

  it('when a ciphertext is moved to another row id (AAD), or read without its AAD, then it fails to decrypt', () => {
    const value = cipher.encrypt('010-1234-5678', 'users.phone:1001');

    expect(cipher.decrypt(value, 'users.phone:1001')).toBe('010-1234-5678');
    expect(failureOf(() => cipher.decrypt(value, 'users.phone:1002'))).toMatchObject({ code: 'authentication_failed' });
    expect(failureOf(() => cipher.decrypt(value))).toMatchObject({ code: 'authentication_failed' });
  });

  it('when the ring is unusable, then creating the cipher fails with a clear message', () => {
    expect(failureOf(() => createFieldCipher({ activeKeyId: 'k3', keys: [k1] }))).toMatchObject({ code: 'invalid_key_ring', message: 'the active key "k3" is not in the ring' });
    expect(failureOf(() => createFieldCipher({ activeKeyId: 'k1', keys: [{ id: 'k1', key: randomBytes(16) }] }))).toMatchObject({ message: 'key "k1" must be 32 bytes' });
    expect(failureOf(() => createFieldCipher({ activeKeyId: 'k1', keys: [k1, k1] }))).toMatchObject({ message: 'key id "k1" appears twice' });
    expect(failureOf(() => createFieldCipher({ activeKeyId: 'a.b', keys: [{ id: 'a.b', key: k1.key }] }))).toMatchObject({ code: 'invalid_key_ring' });
  });
});

describe('parseKeyRing', () => {
  it('when given "k2:<base64>,k1:<base64>", then the first key is active and both decrypt', () => {
    const ring = parseKeyRing(` k2:${k2.key.toString('base64')} , k1:${k1.key.toString('base64url')}`);

    expect(ring.activeKeyId).toBe('k2');
    expect(ring.keys.map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(ring.keys[0]!.key.equals(k2.key)).toBe(true);
    expect(ring.keys[1]!.key.equals(k1.key)).toBe(true);
  });

  it('when the spec is empty, lacks an id, is not base64, has a short key or repeats an id, then the error says so', () => {
    const b64 = k1.key.toString('base64');
    const cases: [string, string][] = [
      ['', 'the key ring is empty; expected "<id>:<base64 key>[,<id>:<base64 key>...]"'],
      [b64, 'entry 1 is not "<id>:<base64 key>"'],
      [`k1:${b64},:${b64}`, 'entry 2 is not "<id>:<base64 key>"'],
      ['k1:not base64!', 'key "k1" is not base64'],
      [`k1:${randomBytes(16).toString('base64')}`, 'key "k1" is 16 bytes; it must be 32 (openssl rand -base64 32)'],
      [`k1:${b64},k1:${b64}`, 'key id "k1" appears twice'],
    ];
    for (const [spec, message] of cases) {
      const failure = failureOf(() => parseKeyRing(spec));
      expect(failure, spec).toBeInstanceOf(FieldCipherError);
      expect((failure as Error).message, spec).toBe(message);
    }
  });
});

describe('BlindIndexer', () => {
  const indexKey = randomBytes(32);
  const indexer = createBlindIndexer(indexKey);

  it('when the same normalised value is indexed twice (even by another instance with the same key), then the index is the same', () => {
    const first = indexer.blindIndex('minsu@example.com', 'email');

    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(createBlindIndexer(Buffer.from(indexKey)).blindIndex('minsu@example.com', 'email')).toBe(first);
    expect(indexer.blindIndex('minsu2@example.com', 'email')).not.toBe(first);
  });

  it('when the same value is indexed for two purposes, or as blind index and keyed hash, then the results differ', () => {
    const value = '+821012345678';

    const results = [indexer.blindIndex(value, 'email'), indexer.blindIndex(value, 'phone'), indexer.keyedHash(value, 'phone'), indexer.keyedHash(value, 'ci')];

    expect(new Set(results).size).toBe(4);
  });

  it('when another index key is used, then the index differs (no precomputed tables across deployments)', () => {
    expect(createBlindIndexer(randomBytes(32)).blindIndex('a@b.kr', 'email')).not.toBe(indexer.blindIndex('a@b.kr', 'email'));
  });

  it('when the purpose is not a plain label or the key is short, then it throws', () => {
    expect(failureOf(() => indexer.blindIndex('x', 'Email Address'))).toBeInstanceOf(FieldCipherError);
    expect(failureOf(() => createBlindIndexer(randomBytes(31)))).toMatchObject({ message: 'the index key must be 32 bytes' });
  });
});
