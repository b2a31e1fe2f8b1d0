import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { Sequelize } from 'sequelize';
import { normaliseText, PostgresSearchIndex, type SearchQuery } from '../src/platform/search';

// `npx tsx bench/search.ts`: the search index's PostgreSQL adapter on ~100k synthetic listings
// (realistic Korean titles across the category tree and Seoul/Gyeonggi dongs), in a table of its
// own shaped like `search_documents` (same columns and indexes). For each main query: adapter
// latency (median, p95 over RUNS calls) and the EXPLAIN (ANALYZE, BUFFERS) of the SQL it ran.
// Results: docs/search.md. BENCH_SEARCH_DOCS (default 100000), BENCH_SEARCH_KEEP=1 keeps the table.

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/junggo_test';
const N = Number(process.env.BENCH_SEARCH_DOCS ?? 100_000);
const RUNS = Number(process.env.BENCH_SEARCH_RUNS ?? 30);
const TABLE = `search_bench_${randomBytes(3).toString('hex')}`;

const BRANDS = ['아이폰', '갤럭시', '아이패드', '맥북', '에어팟', '다이슨', '나이키', '아디다스', '이케아', '레고', '닌텐도', '플레이스테이션', '캐논', '소니', 'LG', '삼성', '샤오미', '무인양품', '스타벅스', '폴로'];
const ITEMS = ['자전거', '미니벨로', '책상', '의자', '소파', '가방', '지갑', '운동화', '패딩', '코트', '청소기', '공기청정기', '모니터', '키보드', '마우스', '유모차', '카시트', '장난감', '냄비', '캠핑의자', '텐트', '전기포트', '선풍기', '가습기', '원피스'];
const DETAILS = ['프로', '미개봉', '새상품', '급처', '풀박스', '256GB', '128GB', 'S급', '정품', '거의새것', '1회사용', '택포', '네고가능', '2세대', '맥스', '미니', '화이트', '블랙'];
const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)]!;

async function main(): Promise<void> {
  const pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
  const captured: { sql: string; bind: unknown[] }[] = [];
  const sequelize = new Sequelize(DATABASE_URL, {
    dialect: 'postgres',
    pool: { max: 4 },
    logging: (sql: string, opts?: unknown) => {
      const bind = (opts as { bind?: unknown[] } | undefined)?.bind ?? [];
      captured.push({ sql: sql.replace(/^Executing \([^)]*\): /, ''), bind });
    },
  });
  try {
    await pg.query(`CREATE TABLE ${TABLE} (LIKE search_documents INCLUDING ALL)`);
    const categories = (await pg.query<{ id: string; path: string }>(`SELECT id, path FROM categories WHERE depth = 1 AND path NOT LIKE 'other/fuzz%'`)).rows;
    // Seoul and Gyeonggi: where most listings are.
    const dongs = (await pg.query<{ code: string; name: string; lat: number; lng: number }>(`SELECT code, name, lat, lng FROM dongs WHERE sido IN ('서울특별시', '경기도')`)).rows;
    const started = Date.now();
    const BATCH = 2000;
    for (let done = 0; done < N; done += BATCH) {
      const rows = Array.from({ length: Math.min(BATCH, N - done) }, (_, i) => {
        const n = done + i;
        const title = `${pick(BRANDS)} ${pick(ITEMS)} ${pick(DETAILS)}${Math.random() < 0.3 ? ` ${pick(DETAILS)}` : ''}`;
        const description = `${pick(ITEMS)} ${pick(DETAILS)} 상태 좋습니다. ${pick(BRANDS)} 정품이고 직거래 선호해요.`;
        const c = pick(categories);
        const d = pick(dongs);
        const bumped = new Date(Date.now() - Math.floor(Math.random() * 60 * 86_400_000)).toISOString();
        const price = Math.random() < 0.05 ? 0 : Math.round(Math.random() * 500) * 1000;
        const status = Math.random() < 0.8 ? 'on_sale' : Math.random() < 0.5 ? 'reserved' : Math.random() < 0.8 ? 'sold' : 'hidden';
        const t = normaliseText(title);
        return {
          id: `prd_B${String(n).padStart(19, '0')}`,
          version: 1,
          seller_id: `usr_${String(n % 5000).padStart(20, '0')}`,
          title,
          description,
          category_id: c.id,
          category_path: `${c.path}/`,
          price,
          condition: pick(['new', 'like_new', 'used', 'for_parts']),
          trade_methods: Math.random() < 0.5 ? ['meet_up'] : ['meet_up', 'parcel'],
          dong_code: d.code,
          dong_name: d.name,
          lat: d.lat,
          lng: d.lng,
          status,
          like_count: Math.floor(Math.random() ** 3 * 200),
          bumped_at: bumped,
          created_at: bumped,
          title_norm: t,
          search_text: `${t} ${normaliseText(description)}`,
        };
      });
      await pg.query(
        `INSERT INTO ${TABLE} (id, version, seller_id, title, description, category_id, category_path, price, condition, trade_methods, dong_code, dong_name,
                               lat, lng, status, like_count, bumped_at, created_at, title_norm, search_text)
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(id text, version bigint, seller_id text, title text, description text, category_id text, category_path text,
              price int, condition text, trade_methods text[], dong_code text, dong_name text, lat float8, lng float8, status text, like_count int,
              bumped_at timestamptz, created_at timestamptz, title_norm text, search_text text)`,
        [JSON.stringify(rows)],
      );
      process.stdout.write(`\rloaded ${Math.min(done + BATCH, N)}/${N}`);
    }
    await pg.query(`VACUUM ANALYZE ${TABLE}`);
    console.log(`\nloaded ${N} listings in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const index = new PostgresSearchIndex({ sequelize, table: TABLE });
    const mangwon = dongs.find((d) => d.name.startsWith('망원')) ?? dongs[0]!;
    const around = (await pg.query<{ code: string }>(
      `SELECT d.code FROM dongs c JOIN dongs d ON earth_box(ll_to_earth(c.lat, c.lng), 3000) @> ll_to_earth(d.lat, d.lng)
        WHERE c.code = $1 AND earth_distance(ll_to_earth(c.lat, c.lng), ll_to_earth(d.lat, d.lng)) <= 3000`,
      [mangwon.code],
    )).rows.map((r) => r.code);
    const digital = categories.find((c) => c.path === 'digital/phones')!;
    const base = { sort: 'recent' as const, limit: 20 };
    const cases: [string, SearchQuery][] = [
      ['feed: leaf category, recent', { ...base, categoryPath: 'digital/phones' }],
      ['feed: top-level category, recent', { ...base, categoryPath: 'digital' }],
      ['feed: neighbourhood (망원 + 3 km dongs), recent', { ...base, dongCodes: around, origin: mangwon }],
      ['feed: neighbourhood + leaf category, recent', { ...base, dongCodes: around, origin: mangwon, categoryPath: digital.path }],
      ['search: q=아이폰, recent', { ...base, q: '아이폰' }],
      ['search: q=아이폰 프로, recent', { ...base, q: '아이폰 프로' }],
      ['search: q=자전거, price_asc', { ...base, q: '자전거', sort: 'price_asc' }],
      ['search: q=가방 (2 chars, full text), recent', { ...base, q: '가방' }],
      ['search: q=iphone (no match), recent', { ...base, q: 'iphone' }],
      ['near 망원 3 km, distance', { ...base, near: { lat: mangwon.lat, lng: mangwon.lng, radiusMeters: 3000 }, sort: 'distance' }],
      ['near 망원 3 km + q=자전거, recent', { ...base, near: { lat: mangwon.lat, lng: mangwon.lng, radiusMeters: 3000 }, q: '자전거' }],
      ['all, popular', { ...base, sort: 'popular' }],
      ['all, price_asc', { ...base, sort: 'price_asc' }],
    ];
    const report: string[] = [];
    const measure = async (name: string, run: () => Promise<unknown>) => {
      await run();
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t0 = process.hrtime.bigint();
        await run();
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      times.sort((a, b) => a - b);
      captured.length = 0;
      await run();
      const { sql, bind } = captured.at(-1)!;
      const plan = (await pg.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, bind)).rows.map((r) => r['QUERY PLAN']);
      const line = `${name}: median ${times[Math.floor(times.length / 2)]!.toFixed(2)} ms, p95 ${times[Math.floor(times.length * 0.95)]!.toFixed(2)} ms`;
      console.log(`\n### ${line}\n${plan.join('\n')}`);
      report.push(line);
    };
    for (const [name, query] of cases) await measure(name, () => index.search(query));
    // Page 5 of the leaf-category feed: the cursor's keyset condition.
    let cursor: string | undefined;
    for (let i = 0; i < 4; i++) cursor = (await index.search({ ...base, categoryPath: 'digital/phones', cursor })).nextCursor ?? undefined;
    await measure('feed: leaf category, recent, page 5 (cursor)', () => index.search({ ...base, categoryPath: 'digital/phones', cursor }));
    await measure('suggest: 아이', () => index.suggest('아이', 10));
    await measure('suggest: 아이폰 미', () => index.suggest('아이폰 미', 10));
    console.log(`\n## Summary (${N} listings, ${RUNS} runs each)\n${report.map((l) => `- ${l}`).join('\n')}`);
  } finally {
    if (process.env.BENCH_SEARCH_KEEP !== '1') await pg.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await sequelize.close();
    await pg.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
