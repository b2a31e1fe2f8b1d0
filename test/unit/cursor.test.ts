import { describe, expect, it } from 'vitest';
import { decodeCursor as decodeEngagementCursor } from '../../src/modules/engagement/domain/cursor';
import { decodeCursor as decodeAccountCursor, filterFingerprint } from '../../src/modules/users/admin/domain/cursor';
import { decodeListingCursor, encodeListingCursor, listingCursorFingerprint } from '../../src/modules/products/domain/listing-cursor';
import { cursorFingerprint, InvalidCursorError, openCursor, sealCursor } from '../../src/platform/pagination/cursor';
import { planSearch, type SearchSort } from '../../src/platform/search/search-index';

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

  it('when a re-sealed cursor holds a NUL character in its id or value (PostgreSQL text cannot, a 500), then it is refused', () => {
    expect(refused(() => openCursor('search', sealCursor('search', { value: 5, id: 'prd_\u0000' }, fp), fp))).toMatch(/malformed/);
    expect(refused(() => openCursor('documents', sealCursor('documents', { value: '2026-11-28T00:00:00\u0000Z', id: 'shq_1' }, fp), fp))).toMatch(/malformed/);
    expect(refused(() => openCursor('search', sealCursor('search', { value: ['a', { b: '\u0000' }], id: 'prd_1' }, fp), fp))).toMatch(/malformed/);
  });

  it('when the fingerprint is computed twice from the same parts, then it is the same, and differs for other parts', () => {
    expect(cursorFingerprint(['a', 1])).toBe(cursorFingerprint(['a', 1]));
    expect(cursorFingerprint(['a', 1])).not.toBe(cursorFingerprint(['a', 2]));
  });
});

describe('search cursors and the point of a near query', () => {
  const dongs = { dongCodes: ['5011051000', '5011059000'], limit: 20 };
  const [a, b] = [{ lat: 33.5131, lng: 126.5297 }, { lat: 33.5051, lng: 126.5217 }];
  const sealedFor = (query: Parameters<typeof planSearch>[0]) => sealCursor('search', { value: '2026-11-28T00:00:00.000Z', id: 'prd_1' }, planSearch(query).fingerprint);

  it('when the rows are not ordered by distance, then a cursor from one point serves another with the same dongs; by distance, it does not', () => {
    expect(planSearch({ ...dongs, sort: 'recent', origin: b, cursor: sealedFor({ ...dongs, sort: 'recent', origin: a }) }).after?.id).toBe('prd_1');
    const byDistance = sealCursor('search', { value: 100, id: 'prd_1' }, planSearch({ ...dongs, sort: 'distance', origin: a }).fingerprint);
    expect(refused(() => planSearch({ ...dongs, sort: 'distance', origin: b, cursor: byDistance }))).toMatch(/another list/);
    expect(refused(() => planSearch({ ...dongs, dongCodes: ['5011051000'], sort: 'recent', origin: a, cursor: sealedFor({ ...dongs, sort: 'recent', origin: a }) }))).toMatch(/another list/);
  });

  it('when a cursor was issued by the release before (its point bound into it), then it is still taken at that point, not at another', () => {
    // That release's fingerprint: the same parts, with the point whatever the sort.
    const former = cursorFingerprint(JSON.stringify([[], null, null, null, null, null, null, null, null, [...dongs.dongCodes].sort(), [a.lat, a.lng], 'recent']));
    const cursor = sealCursor('search', { value: '2026-11-28T00:00:00.000Z', id: 'prd_1' }, former);
    expect(planSearch({ ...dongs, sort: 'recent', origin: a, cursor }).after?.id).toBe('prd_1');
    expect(refused(() => planSearch({ ...dongs, sort: 'recent', origin: b, cursor }))).toMatch(/another list/);
  });
});

// The checksum is not a secret: a client can seal any value. What reaches SQL must still fit the
// column's cast, or the answer would be a 500 instead of 400 invalid_cursor.
describe('cursor values sealed by a client', () => {
  const forged = (sort: SearchSort, value: unknown) => {
    const { fingerprint } = planSearch({ sort, limit: 20 });
    return planSearch({ sort, limit: 20, cursor: sealCursor('search', { value, id: 'prd_1' }, fingerprint) });
  };

  it.each([
    ['price_asc', 1.5],
    ['price_desc', 1e12],
    ['popular', -2_147_483_649],
    ['popular', '5'],
    ['recent', '2026'],
    ['recent', '0'],
    ['recent', 1_732_700_000_000],
    ['recent', '2026-02-30T00:00:00.000Z'],
    ['recent', '2026-11-28T10:00:00Z'],
    ['recent', '+012026-11-28T10:00:00.000Z'],
    // A real instant to JavaScript, but PostgreSQL has no year 0: the cast would fail (500).
    ['recent', '0000-01-01T00:00:00.000Z'],
  ] as [SearchSort, unknown][])('when a search cursor for sort=%s holds %j, then it is refused', (sort, value) => {
    expect(refused(() => forged(sort, value))).toMatch(/does not fit/);
  });

  it.each([
    ['price_asc', 0],
    ['price_desc', 2_147_483_647],
    ['popular', 12],
    ['recent', '2026-11-28T10:00:00.123Z'],
  ] as [SearchSort, unknown][])('when a search cursor for sort=%s holds %j, a value a page could end on, then it is accepted', (sort, value) => {
    expect(forged(sort, value).after).toEqual({ value, id: 'prd_1' });
  });

  it('when an engagement or account-list cursor holds microseconds outside 1970–9999 (PostgreSQL would fail the timestamp, a 500), then it is refused; a real one is accepted', () => {
    const list = 'likes:usr_A';
    const sealed = (value: unknown) => sealCursor('engagement', { value, id: 'prd_1' }, cursorFingerprint(list));
    for (const bad of ['-300000000000000000', '-1', '253402300800000000', '999999999999999999', '1.5', 1_732_700_000_000_000]) {
      expect(refused(() => decodeEngagementCursor(list, sealed(bad)))).toMatch(/malformed/);
    }
    expect(decodeEngagementCursor(list, sealed('1732700000000000'))).toEqual({ atMicros: '1732700000000000', id: 'prd_1' });
    const fp = filterFingerprint({});
    const account = (value: unknown) => sealCursor('admin.accounts', { value, id: 'usr_1' }, fp);
    expect(refused(() => decodeAccountCursor(fp, account('-300000000000000000')))).toMatch(/malformed/);
    expect(decodeAccountCursor(fp, account('1732700000000000'))).toEqual({ createdAtMicros: '1732700000000000', id: 'usr_1' });
  });

  it('when a listing cursor holds a timestamp that is not a real time, then it is refused; PostgreSQL\'s own form is accepted', () => {
    const fp = listingCursorFingerprint('seller-products', ['usr_A']);
    for (const bad of ['2026-02-30 10:00:00+00', '2026-13-01 10:00:00+00', '2026-11-28 24:00:00+00', '2026-11-28 10:61:00+00', '2026-11-28 10:00:00+16', '2026-11-28 10:00:00+09:60', '2026-11-28 10:00:00+09:99']) {
      expect(refused(() => decodeListingCursor(encodeListingCursor(bad, 'prd_1', fp), fp))).toMatch(/malformed/);
    }
    const good = '2026-11-28 10:00:00.123456+00';
    expect(decodeListingCursor(encodeListingCursor(good, 'prd_1', fp), fp)).toEqual({ createdAt: good, id: 'prd_1' });
  });
});
