import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDongs } from '../../src/modules/neighbourhoods/data/dongs-csv';
import { createDongRepository } from '../../src/modules/neighbourhoods/data/dong-repository';
import { createDongResolver } from '../../src/modules/neighbourhoods/domain/dong-resolver';
import { createSequelize } from '../../src/platform/db/sequelize';
import { AppError } from '../../src/platform/errors';
import { createLogger } from '../../src/platform/logger';
import { TEST_ENV } from '../support/env';

const sequelize = createSequelize({ url: TEST_ENV.DATABASE_URL, poolMax: 2 }, createLogger('silent', 'test'));
const resolver = createDongResolver(createDongRepository(sequelize));
beforeAll(() => sequelize.authenticate());
afterAll(() => sequelize.close());

const failure = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as AppError);

describe('dong resolver', () => {
  it('when the shipped file is loaded, then all 3,526 dongs are there', async () => {
    expect(readDongs()).toHaveLength(3526);
    const [row] = await sequelize.query<{ n: string }>('SELECT count(*) AS n FROM dongs', { type: 'SELECT' as never });
    expect(Number((row as unknown as { n: string }).n)).toBe(3526);
  });

  it('when coordinates are at a dong\'s representative point, then that dong is resolved', async () => {
    // 사직동, 종로구 (first rows of the file) and a point on Jeju.
    const sajik = await resolver.resolve(37.573269, 126.970956);
    expect(sajik).toMatchObject({ code: '1111053000', sido: '서울특별시', sigungu: '종로구', name: '사직동' });
    expect(sajik.distanceMeters).toBeLessThan(1);
    const jeju = await resolver.resolve(33.4996, 126.5312);
    expect(jeju.sido).toMatch(/^제주/);
  });

  it('when asked for the dongs within a radius of a point, then exactly those whose points are within it come, matching the neighbourhood of a dong', async () => {
    const sajik = { code: '1111053000', lat: 37.573269, lng: 126.970956 };
    const within = await resolver.pointsWithin(sajik.lat, sajik.lng, 3_000);
    const codes = within.map((d) => d.code);
    const around = await resolver.neighbourhood(sajik.code, 3_000);
    expect(codes).toEqual(around.map((d) => d.code).sort());
    expect(codes).toContain(sajik.code);
    expect(codes.length).toBeGreaterThan(10);
    // Each with its representative point, as the neighbourhood has it.
    for (const d of around) expect(within.find((w) => w.code === d.code)).toMatchObject({ lat: d.lat, lng: d.lng });
    // Across the country (every 97th dong: Seoul to Jeju and the islands) and radii: the same dongs.
    const dongs = readDongs();
    for (let i = 0; i < dongs.length; i += 97) {
      const centre = dongs[i]!;
      const radius = [1_500, 3_000, 6_000, 20_000][i % 4]!;
      const near = (await resolver.pointsWithin(centre.lat, centre.lng, radius)).map((d) => d.code);
      expect(near, `${centre.name} ${radius} m`).toEqual((await resolver.neighbourhood(centre.code, radius)).map((d) => d.code).sort());
    }
    expect((await resolver.pointsWithin(sajik.lat, sajik.lng, 10)).length).toBe(1);
    expect(await resolver.pointsWithin(35.6762, 139.6503, 3_000)).toEqual([]);
    expect(await failure(resolver.pointsWithin(91, 0, 3_000))).toMatchObject({ status: 400, code: 'invalid_coordinates' });
  });

  it('when coordinates are at sea or abroad, then 422 location_outside_service_area; when malformed, then 400', async () => {
    for (const [lat, lng] of [[35.0, 124.0], [35.6762, 139.6503], [0, 0]] as const) {
      expect(await failure(resolver.resolve(lat, lng))).toMatchObject({ status: 422, code: 'location_outside_service_area' });
    }
    expect(await failure(resolver.resolve(91, 0))).toMatchObject({ status: 400, code: 'invalid_coordinates' });
    expect(await failure(resolver.resolve(Number.NaN, 127))).toMatchObject({ status: 400 });
  });

  it('when asked for a neighbourhood, then the dong itself comes first and every dong lies within the radius, in the same city', async () => {
    const around = await resolver.neighbourhood('1111053000', 2000);
    expect(around[0]!.code).toBe('1111053000');
    expect(around.length).toBeGreaterThan(3);
    for (const d of around) expect(d.sido).toBe('서울특별시');
    const wider = await resolver.neighbourhood('1111053000', 5000);
    expect(wider.length).toBeGreaterThan(around.length);
    expect(await failure(resolver.neighbourhood('0000000000'))).toMatchObject({ status: 404 });
  });
});
