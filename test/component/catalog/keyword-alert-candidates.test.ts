import { randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseOptions } from '../../../src/config';
import { CANDIDATES_SQL, createKeywordAlertRepository } from '../../../src/modules/engagement/data/keyword-alert-repository';
import { normaliseForMatch, titleGrams } from '../../../src/modules/engagement/domain/keywords';
import { createSequelize } from '../../../src/platform/db/sequelize';
import { createLogger } from '../../../src/platform/logger';
import { createListing, MANGWON, PHONES, sellerWithNeighbourhood, type Seller } from '../../support/catalog';
import { expectProblem, raw } from '../../support/http';
import { startIdentityStack, type IdentityStack, type SignedUpUser } from '../../support/identity';
import { waitFor } from '../../support/wait';

// Which alerts a listing reads (키워드 알림; docs/keyword-alerts.md, "Which gram is the anchor"):
// an alert is anchored at its rarest gram in listing titles, so alerts that cannot match a title
// but share a common gram with it (`아이스박스`, `아이폰맥스프로울트라 zq` and an 아이폰 listing) are
// never read by it. Syllables drawn at random play the marketplace's words, so that no title or
// alert of another test or run holds them: `common` plays 아이, `phone` 아이폰, `model` 프로.

let stack: IdentityStack;
let seller: Seller;
let sequelize: ReturnType<typeof createSequelize>;

beforeAll(async () => {
  stack = await startIdentityStack();
  seller = await sellerWithNeighbourhood(stack, 'kcseller');
  sequelize = createSequelize(databaseOptions(stack.api.config), createLogger('silent', 'test'));
});
afterAll(async () => {
  await sequelize?.close();
  await stack?.stop();
});

const save = (user: SignedUpUser, keyword: string) =>
  raw(`${stack.api.url}/v1/users/me/keyword-alerts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ keyword }),
  });
const notifiedOf = async (user: SignedUpUser, productId: string) =>
  (await stack.db.query(`SELECT 1 FROM notifications WHERE user_id = $1 AND product_id = $2 AND kind = 'keyword_alert'`, [user.id, productId])).rows.length;

/** Distinct Hangul syllables at random (11,172 exist), none of those the keywords below spell out. */
function syllables(n: number): string[] {
  const taken = new Set(Array.from('스박패드미니폰케이맥캠핑울트라프로'));
  const out: string[] = [];
  while (out.length < n) {
    const s = String.fromCodePoint(0xac00 + randomInt(11_172));
    if (!taken.has(s)) (taken.add(s), out.push(s));
  }
  return out;
}

describe('the alerts a listing reads', () => {
  it('when many alerts that cannot match share a gram common in titles, then a listing holding that gram reads only the alerts that can match it, and only their users are notified', async () => {
    const [c1, c2, p, m1, m2, r1, r2] = syllables(7);
    const common = `${c1}${c2}`;
    const phone = `${common}${p}`;
    const model = `${m1}${m2}`;
    const rare = `${r1}${r2}`;
    const title = `${phone} ${model}`;

    // `common` and `phone` common in titles (as 아이 and 이폰 are): listings of this test's own,
    // hidden and deleted (no feed or search shows them), at least 1 in 20 of the table, half of
    // them of `phone`, by an account of their own (they count towards its daily listing limit);
    // ANALYZE counts them as autovacuum would. Deleted at the end.
    const poster = await stack.signUp('kcstats');
    const batch = `prd_KWSTATS${randomBytes(4).toString('hex').toUpperCase()}`;
    const total = Number((await stack.db.query('SELECT count(*) FROM products')).rows[0]!.count);
    await stack.db.query(
      `INSERT INTO products (id, seller_id, title, category_id, price, condition, trade_methods, dong_code, lat, lng, status, deleted_at)
       SELECT $1 || i, $2, CASE WHEN i % 2 = 0 THEN $3 ELSE $4 END || chr(44032 + (random() * 11171)::int) || chr(44032 + (random() * 11171)::int),
              $5, 1000, 'used', '{meet_up}', $6, $7, $8, 'hidden', now()
         FROM generate_series(1, $9::int) AS i`,
      [batch, poster.id, phone, common, PHONES, MANGWON.dongCode, MANGWON.lat, MANGWON.lng, Math.max(500, Math.ceil(total / 20))],
    );
    try {
      await stack.db.query('ANALYZE products');
      const repo = createKeywordAlertRepository(sequelize);
      const shares = await repo.gramFrequencies([common, `${c2}${p}`, rare]);
      expect(shares.get(common)).toBeGreaterThan(0.03);
      expect(shares.get(`${c2}${p}`)).toBeGreaterThan(0.01);
      expect(shares.has(rare)).toBe(false);

      const [phoneFan, modelFan, commonFan, spammer, trailing] = await Promise.all(['kcphone', 'kcmodel', 'kccommon', 'kcspam', 'kctrail'].map((tag) => stack.signUp(tag)));
      // Alerts that can match the title: one of them (`common`, like `아이`) only of the common gram.
      const canMatch = new Map([
        [phoneFan!, phone],
        [modelFan!, `${phone} ${model}`],
        [commonFan!, common],
      ]);
      for (const [user, keyword] of canMatch) expect((await save(user, keyword)).status).toBe(201);
      // Alerts that cannot: the audit's (`아이스박스`, `아이패드 미니`, ...) and 30 of one account.
      const cannot = [`${common}스박스`, `${common}패드 미니`, `${phone} 케이스`, `${common}맥 27`, `캠핑 ${common}스박스 45l`];
      while (cannot.length < 30) cannot.push(`${phone}맥스프로울트라 zq${cannot.length}`);
      for (const keyword of cannot) expect((await save(spammer!, keyword)).status).toBe(201);
      expectProblem(await save(spammer!, `${phone}맥스프로울트라 zq99`), 409, 'keyword_alert_limit_reached');
      // The common gram last: only the statistics tell it from the rare one.
      expect((await save(trailing!, `${rare} ${common}`)).status).toBe(201);

      // No alert that cannot match is anchored at a gram of the title, so the title's probes never reach it.
      const grams = titleGrams(normaliseForMatch(title));
      const anchors = (await stack.db.query('SELECT keyword, anchor FROM keyword_alerts WHERE user_id = ANY($1)', [[spammer!.id, trailing!.id]])).rows as { keyword: string; anchor: string }[];
      expect(anchors).toHaveLength(31);
      expect(anchors.filter((a) => grams.includes(a.anchor))).toEqual([]);

      const listing = await createListing(stack, seller.token, { title });
      const fans = [...canMatch.keys()];
      await waitFor('the notifications', async () => (await Promise.all(fans.map((u) => notifiedOf(u, listing.id)))).every((n) => n === 1));
      const ours = [...fans, spammer!, trailing!].map((u) => u.id);
      const matched = (await stack.db.query('SELECT user_id FROM keyword_alert_matches WHERE product_id = $1 AND user_id = ANY($2) ORDER BY user_id', [listing.id, ours])).rows.map((r) => r.user_id as string);
      expect(matched).toEqual(fans.map((u) => u.id).sort());
      expect(await notifiedOf(spammer!, listing.id)).toBe(0);
      expect(await notifiedOf(trailing!, listing.id)).toBe(0);

      // What the lookup reads: the alerts anchored at a gram of the title (CANDIDATES_SQL's index
      // condition), of which this test's are exactly the three that match. The first-bigram anchor
      // had it read the spammer's 30 too (and the last-gram rule without statistics `trailing`'s),
      // only to drop them.
      const reached = (await stack.db.query('SELECT keyword FROM keyword_alerts WHERE anchor = ANY($1) AND user_id = ANY($2)', [grams, ours])).rows.map((r) => r.keyword as string);
      expect(reached.sort()).toEqual([...canMatch.values()].sort());
      expect(CANDIDATES_SQL).toContain('a.anchor = ANY($1::text[])');
      const matchable = (await repo.matchable(listing.id))!;
      const candidates = (await repo.candidates(grams, matchable)).filter((c) => ours.includes(c.userId));
      expect(candidates.map((c) => c.keyword).sort()).toEqual([...canMatch.values()].sort());
    } finally {
      await stack.db.query('DELETE FROM products WHERE id LIKE $1', [`${batch}%`]);
    }
  });

  it('when a subscriber\'s suspension has ended but was not lifted yet, then their alerts fire (a current suspension\'s do not); a banned seller\'s listing is not worth announcing', async () => {
    const keyword = syllables(3).join('');
    const [lapsed, current] = await Promise.all([stack.signUp('kclapsed'), stack.signUp('kccurrent')]);
    for (const user of [lapsed, current]) expect((await save(user, keyword)).status).toBe(201);
    await stack.db.query(`UPDATE users SET status = 'suspended', suspended_until = now() - interval '1 minute' WHERE id = $1`, [lapsed.id]);
    await stack.db.query(`UPDATE users SET status = 'suspended', suspended_until = now() + interval '1 day' WHERE id = $1`, [current.id]);
    const listing = await createListing(stack, seller.token, { title: `${keyword} 팝니다` });
    await waitFor('the lapsed suspension notified', async () => (await notifiedOf(lapsed, listing.id)) === 1);
    // Matched in the same run as the lapsed one: no match row means never notified.
    expect((await stack.db.query('SELECT 1 FROM keyword_alert_matches WHERE product_id = $1 AND user_id = $2', [listing.id, current.id])).rows).toEqual([]);

    const repo = createKeywordAlertRepository(sequelize);
    expect(await repo.matchable(listing.id)).not.toBeNull();
    const other = await sellerWithNeighbourhood(stack, 'kcbanned');
    const theirs = await createListing(stack, other.token, { title: `${keyword} 하나 더` });
    await stack.db.query(`UPDATE users SET status = 'banned' WHERE id = $1`, [other.id]);
    expect(await repo.matchable(theirs.id)).toBeNull();
  });
});
