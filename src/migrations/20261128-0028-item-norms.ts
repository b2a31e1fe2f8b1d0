import type { Migration } from '../platform/db/migrator';

// ‖i‖² of every item's interaction vector, for the similarity job's cosines. The job used to
// aggregate all of product_interactions for every co-item j of a dirty item, uncapped: a listing
// with 50,000 viewers was re-read whenever any of its co-items changed (docs/recommendations.md).
//
// Kept by statement triggers on the three signal tables, so every writer is covered (likes, the
// view flush, purchases, the orders component to come, bulk loads) and the sum moves in the
// writer's own transaction. A change to (user, item) in one table moves the sum by
// new² − old² of that pair's strongest weight, the view's rule: max(own, others) against others,
// where others is the pair's weight in the two other tables. Concurrency: the item's row here is
// locked (in id order, after creating it if new) before the others are read, and in READ
// COMMITTED each statement reads what committed before it, so of two transactions changing one
// pair in two tables, the second to take the lock sees the first's change. (Under REPEATABLE READ
// the second fails with a serialisation error instead of counting wrong.)
//
// The weights (view 1, like 3, purchase 5) are those of the view product_interactions (0013);
// change both together. Rows are only inserted and deleted (an update of viewed_on or created_at
// keeps the weight); an update of user_id or product_id is refused. TRUNCATE is not followed.
//
// The backfill runs under SHARE ROW EXCLUSIVE locks on the three tables, taken first (before the
// triggers exist): writes to them wait until it commits, none is counted twice or missed. It is one
// aggregate over the three tables (seconds for millions of rows; docs/recommendations.md). No
// transaction writes two of them, so nothing waiting here holds one this needs. No foreign key to
// products (whose rows are never deleted): it would lock products against every write meanwhile,
// and a like, which locks products then product_likes, could deadlock with this.
export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.transaction(async (transaction) => {
    await sequelize.query(
      `
      -- Holding the first lock while queueing for the next would stall likes and flushes for as
      -- long as that wait lasts: give up after 5 s (the migration fails whole and can be re-run).
      SET LOCAL lock_timeout = '5s';
      LOCK TABLE product_views, product_likes, product_purchases IN SHARE ROW EXCLUSIVE MODE;
      SET LOCAL lock_timeout = 0;

      CREATE TABLE item_norms (
        product_id  text PRIMARY KEY,
        sq_sum      double precision NOT NULL DEFAULT 0
      );

      -- The lookups are scalar subqueries on primary keys, a probe per changed row whatever the
      -- batch's size and whichever plan the function cached on its first call (an EXISTS or a join
      -- planned for a flush of thousands would hash whole tables, and could keep doing so for
      -- every later like); only the lock's = ANY may become one scan of item_norms, for a batch
      -- touching a good part of it. jit off: the statements are short.
      CREATE FUNCTION item_norms_follow() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
      DECLARE
        own double precision := CASE TG_TABLE_NAME WHEN 'product_views' THEN 1 WHEN 'product_likes' THEN 3 WHEN 'product_purchases' THEN 5 END;
        direction double precision := CASE TG_OP WHEN 'INSERT' THEN 1 WHEN 'DELETE' THEN -1 END;
        ids text[];
      BEGIN
        IF own IS NULL OR direction IS NULL THEN
          RAISE EXCEPTION 'item_norms_follow: unexpected % on %', TG_OP, TG_TABLE_NAME;
        END IF;
        SELECT array_agg(DISTINCT product_id ORDER BY product_id) INTO ids FROM changed;
        -- An INSERT ... ON CONFLICT DO NOTHING that inserted nothing (a repeated like).
        IF ids IS NULL THEN
          RETURN NULL;
        END IF;
        INSERT INTO item_norms (product_id)
          SELECT id FROM unnest(ids) AS id WHERE (SELECT true FROM item_norms n WHERE n.product_id = id) IS NULL ORDER BY id
          ON CONFLICT DO NOTHING;
        PERFORM 1 FROM item_norms WHERE product_id = ANY (ids) ORDER BY product_id FOR NO KEY UPDATE;
        -- Each changed pair's weight in the two other tables, read once, after the locks.
        WITH pairs AS MATERIALIZED (
          SELECT c.product_id, greatest(0,
                   CASE WHEN TG_TABLE_NAME <> 'product_views'
                        THEN (SELECT 1 FROM product_views x WHERE x.user_id = c.user_id AND x.product_id = c.product_id) END,
                   CASE WHEN TG_TABLE_NAME <> 'product_likes'
                        THEN (SELECT 3 FROM product_likes x WHERE x.user_id = c.user_id AND x.product_id = c.product_id) END,
                   CASE WHEN TG_TABLE_NAME <> 'product_purchases'
                        THEN (SELECT 5 FROM product_purchases x WHERE x.user_id = c.user_id AND x.product_id = c.product_id) END
                 )::double precision AS others
            FROM changed c)
        UPDATE item_norms n SET sq_sum = n.sq_sum + d.delta
          FROM (SELECT product_id, sum(direction * (greatest(own, others) ^ 2 - others ^ 2)) AS delta FROM pairs GROUP BY product_id) d
         WHERE n.product_id = d.product_id AND d.delta <> 0;
        RETURN NULL;
      END $$;

      CREATE FUNCTION interaction_keys_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '%: user_id and product_id are never updated (item_norms follows inserts and deletes)', TG_TABLE_NAME;
      END $$;
      `,
      { transaction },
    );
    for (const table of ['product_views', 'product_likes', 'product_purchases']) {
      await sequelize.query(
        `
        CREATE TRIGGER ${table}_norms_insert AFTER INSERT ON ${table} REFERENCING NEW TABLE AS changed
          FOR EACH STATEMENT EXECUTE FUNCTION item_norms_follow();
        CREATE TRIGGER ${table}_norms_delete AFTER DELETE ON ${table} REFERENCING OLD TABLE AS changed
          FOR EACH STATEMENT EXECUTE FUNCTION item_norms_follow();
        CREATE TRIGGER ${table}_keys_fixed BEFORE UPDATE OF user_id, product_id ON ${table}
          FOR EACH ROW WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.product_id IS DISTINCT FROM NEW.product_id)
          EXECUTE FUNCTION interaction_keys_fixed();
        `,
        { transaction },
      );
    }
    await sequelize.query(
      `INSERT INTO item_norms (product_id, sq_sum)
       SELECT product_id, sum(weight::double precision * weight) FROM product_interactions GROUP BY product_id ORDER BY product_id`,
      { transaction },
    );
  });
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.transaction(async (transaction) => {
    for (const table of ['product_views', 'product_likes', 'product_purchases']) {
      await sequelize.query(
        `DROP TRIGGER ${table}_norms_insert ON ${table}; DROP TRIGGER ${table}_norms_delete ON ${table}; DROP TRIGGER ${table}_keys_fixed ON ${table};`,
        { transaction },
      );
    }
    await sequelize.query('DROP FUNCTION item_norms_follow(), interaction_keys_fixed(); DROP TABLE item_norms;', { transaction });
  });
};
