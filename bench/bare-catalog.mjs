// Baseline for the catalog part of `make bench`: plain node:http + pg running the SQL the API runs
// for a category feed's first page (the PostgreSQL search adapter's query, bench/catalog.ts shows
// its plan) and for a listing detail on a cache miss (the products repository's findView plus the
// ProductDetail document's images), answering the rows as JSON. No middleware, no validation, no
// cache, no mapping to the public shape, no view counting; categories are read once at start.
// The statements the API prepares are prepared here too (src/platform/db/prepared.ts), and it
// runs as many copies as the API (BENCH_API_PROCESSES): the least any server can do for a read
// that reaches PostgreSQL, on the same cores.
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import pg from 'pg';

const copies = Number(process.env.BENCH_API_PROCESSES ?? 1);
if (cluster.isPrimary && copies > 1) {
  for (let i = 0; i < copies; i++) cluster.fork();
  cluster.on('exit', (_worker, code) => process.exit(code ?? 1));
  process.on('SIGTERM', () => {
    cluster.removeAllListeners('exit');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    setTimeout(() => process.exit(0), 2_000).unref();
  });
} else {
  await serve();
}

async function serve() {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DATABASE_POOL_MAX ?? 4) });
  const categories = new Map(
    (await pool.query('SELECT c.id, c.path, NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id) AS leaf FROM categories c')).rows.map((r) => [r.id, r]),
  );

  // As src/platform/search/postgres-search-index.ts builds it for ?category_id=…&sort=recent: a
  // leaf is one path, a category with sub-categories a prefix.
  const FEED = (leaf) => `SELECT id, title, category_id, price, condition, dong_code, dong_name, lat, lng, status, like_count, chat_count, thumbnail_url, bumped_at, NULL::float8 AS distance
    FROM search_documents WHERE searchable AND category_path ${leaf ? '=' : 'LIKE'} $1 ORDER BY bumped_at DESC, id DESC LIMIT $2`;
  // As src/modules/products/data/product-repository.ts findView, then the document's images.
  const DETAIL = `SELECT p.*, c.name AS category_name, c.path AS category_path, d.name AS dong_name, d.sigungu,
           u.nickname, u.identity_verified_at IS NOT NULL AS identity_verified
      FROM products p
      JOIN categories c ON c.id = p.category_id
      JOIN dongs d ON d.code = p.dong_code
      JOIN users u ON u.id = p.seller_id WHERE p.id = $1`;
  const IMAGES = 'SELECT body FROM doc_product_details WHERE id = $1';

  const send = (res, status, value) => {
    const body = JSON.stringify(value);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) }).end(body);
  };

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://bench');
      if (url.pathname === '/health/live') return send(res, 200, { status: 'ok' });
      if (url.pathname === '/feed') {
        const category = categories.get(url.searchParams.get('category_id') ?? '');
        if (!category) return send(res, 404, {});
        // The API prepares a leaf's feed (one index range whatever the path), not a prefix's.
        const text = FEED(category.leaf);
        const { rows } = await pool.query({ ...(category.leaf ? { name: 'feed_leaf' } : {}), text, values: [category.leaf ? `${category.path}/` : `${category.path}/%`, 21] });
        return send(res, 200, { items: rows.slice(0, 20), has_more: rows.length > 20 });
      }
      const detail = /^\/products\/(prd_[0-9A-Z]{20})$/.exec(url.pathname);
      if (detail) {
        const { rows } = await pool.query({ name: 'detail', text: DETAIL, values: [detail[1]] });
        const row = rows[0];
        if (!row || row.deleted_at || row.status === 'hidden') return send(res, 404, {});
        const doc = await pool.query({ name: 'images', text: IMAGES, values: [detail[1]] });
        return send(res, 200, { ...row, images: doc.rows[0]?.body.images ?? [] });
      }
      send(res, 404, {});
    } catch {
      send(res, 500, {});
    }
  }).listen(Number(process.env.PORT), '127.0.0.1');
  server.keepAliveTimeout = 65_000;
  process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
}
