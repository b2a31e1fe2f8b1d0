import { describe, expect, it } from 'vitest';
import { cursorFingerprint, InvalidCursorError, openCursor, sealCursor } from '../../src/platform/pagination/cursor';

const refused = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidCursorError);
    return (err as InvalidCursorError).message;
  }
  throw new Error('the cursor was accepted');
};

describe('opaque keyset cursors', () => {
  const fp = cursorFingerprint(['likes', 'usr_A']);

  it('when a cursor is opened with the query it was sealed for, then it gives back the position', () => {
    const cursor = sealCursor('engagement', { value: '1732700000000000', id: 'prd_1' }, fp);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(openCursor('engagement', cursor, fp)).toEqual({ value: '1732700000000000', id: 'prd_1' });
  });

  it('when the fingerprint is of other filters, or the cursor of another family, then it is refused', () => {
    const cursor = sealCursor('engagement', { value: 5, id: 'prd_1' }, fp);
    expect(refused(() => openCursor('engagement', cursor, cursorFingerprint(['likes', 'usr_B'])))).toMatch(/another list|other filters/);
    expect(refused(() => openCursor('search', cursor, fp))).toMatch(/altered/);
  });

  it('when a cursor is altered, truncated, not JSON or of the wrong shape, then it is refused', () => {
    const cursor = sealCursor('search', { value: 5, id: 'prd_1' }, fp);
    const [value, id, bound, sum] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    const forge = (parts: unknown[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
    expect(refused(() => openCursor('search', forge([6, id, bound, sum]), fp))).toMatch(/altered/);
    expect(refused(() => openCursor('search', forge([value, id, bound]), fp))).toMatch(/malformed/);
    expect(refused(() => openCursor('search', cursor.slice(0, -4), fp))).toMatch(/malformed|altered/);
    expect(refused(() => openCursor('search', 'bm90LWpzb24', fp))).toMatch(/malformed/);
    expect(refused(() => openCursor('search', forge({ a: 1 } as never), fp))).toMatch(/malformed/);
  });

  it('when the fingerprint is computed twice from the same parts, then it is the same, and differs for other parts', () => {
    expect(cursorFingerprint(['a', 1])).toBe(cursorFingerprint(['a', 1]));
    expect(cursorFingerprint(['a', 1])).not.toBe(cursorFingerprint(['a', 2]));
  });
});
