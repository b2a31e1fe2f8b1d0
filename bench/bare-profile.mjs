// Baseline for the profile read of `make bench`: plain node:http + pg doing the same query the API
// does for GET /v1/users/profile (verify the HS256 token, read the user's row by id, answer JSON),
// without the API's middleware, token-revocation check, decryption or ETag.
import { createServer } from 'node:http';
import jwt from 'jsonwebtoken';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DATABASE_POOL_MAX ?? 4) });
const secret = process.env.JWT_SECRET;

const server = createServer(async (req, res) => {
  if (req.url === '/health/live') return void res.writeHead(200).end('{"status":"ok"}');
  try {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const claims = jwt.verify(token, secret, { algorithms: ['HS256'] });
    const { rows } = await pool.query(
      `SELECT id, email_enc, email_verified_at, nickname, bio, avatar_url, notification_prefs, roles, identity_verified_at, created_at, updated_at FROM users WHERE id = $1`,
      [claims.sub],
    );
    const body = JSON.stringify(rows[0]);
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) }).end(body);
  } catch {
    res.writeHead(401).end();
  }
}).listen(Number(process.env.PORT), '127.0.0.1');
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
