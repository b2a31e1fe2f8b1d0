import type { Migration } from '../platform/db/migrator';

export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    -- 찜. products.like_count is changed in the same transaction as a row here (under the
    -- product's row lock), so the count is exactly the number of rows.
    CREATE TABLE product_likes (
      user_id     text NOT NULL REFERENCES users (id),
      product_id  text NOT NULL REFERENCES products (id),
      created_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, product_id)
    );
    -- "My likes", newest first (keyset pagination).
    CREATE INDEX product_likes_user_recent ON product_likes (user_id, created_at DESC, product_id DESC);
    -- Who liked an item: the co-like side of item-to-item similarity.
    CREATE INDEX product_likes_product ON product_likes (product_id, created_at DESC);

    -- Who viewed what, for co-views: one row per signed-in viewer and item (the latest day seen),
    -- written by the batched view flush. Anonymous views are counted but not kept here.
    CREATE TABLE product_views (
      user_id     text NOT NULL REFERENCES users (id),
      product_id  text NOT NULL REFERENCES products (id),
      viewed_on   date NOT NULL,
      PRIMARY KEY (user_id, product_id)
    );
    CREATE INDEX product_views_product ON product_views (product_id, viewed_on DESC);
    CREATE INDEX product_views_user_recent ON product_views (user_id, viewed_on DESC);

    -- View-count batches already applied: a flush retried after a crash finds its batch here and
    -- does not add it twice.
    CREATE TABLE view_count_flushes (
      batch_id    text PRIMARY KEY,
      applied_at  timestamptz NOT NULL DEFAULT now()
    );

    -- Purchases as a recommender signal: today the buyer a listing is marked sold to
    -- (product.status_changed); the orders component will add its completed orders here.
    CREATE TABLE product_purchases (
      user_id       text NOT NULL REFERENCES users (id),
      product_id    text NOT NULL REFERENCES products (id),
      purchased_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, product_id)
    );
    CREATE INDEX product_purchases_product ON product_purchases (product_id, purchased_at DESC);

    -- Every (user, item) signal the recommender learns from, the strongest kind per pair
    -- (view 1, like 3, purchase 5). Filters on user_id or product_id reach the tables' indexes.
    CREATE VIEW product_interactions AS
      SELECT user_id, product_id, max(weight) AS weight, max(at) AS at
        FROM (
          SELECT user_id, product_id, 1.0::real AS weight, viewed_on::timestamptz AS at FROM product_views
          UNION ALL
          SELECT user_id, product_id, 3.0::real, created_at FROM product_likes
          UNION ALL
          SELECT user_id, product_id, 5.0::real, purchased_at FROM product_purchases
        ) s
       GROUP BY user_id, product_id;

    -- Items whose interactions changed since the similarity job last ran.
    CREATE TABLE similarity_dirty_items (
      product_id  text PRIMARY KEY REFERENCES products (id),
      marked_at   timestamptz NOT NULL DEFAULT now()
    );

    -- Item-to-item collaborative filtering: the top neighbours of each item by cosine
    -- similarity over the users who interacted with both (docs/recommendations.md).
    CREATE TABLE item_similarity (
      product_id  text NOT NULL REFERENCES products (id),
      similar_id  text NOT NULL REFERENCES products (id),
      score       real NOT NULL CHECK (score > 0),
      co_users    integer NOT NULL CHECK (co_users > 0),
      computed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (product_id, similar_id),
      CHECK (product_id <> similar_id)
    );
    CREATE INDEX item_similarity_ranked ON item_similarity (product_id, score DESC, similar_id);
    -- A recomputed item drops the stale reverse pairs pointing at it.
    CREATE INDEX item_similarity_reverse ON item_similarity (similar_id);

    -- 키워드 알림. grams are the keyword's character bigrams (unigrams for one-character words);
    -- anchor is one of them (the first of the longest word). A listing looks up the alerts whose
    -- anchor is among its title's grams (one B-tree probe per title gram, never a scan of all
    -- alerts), keeps those whose grams all occur in the title, then checks real substrings.
    -- (A GIN index on grams cannot serve "grams <@ title": contained-by visits the whole index.)
    CREATE TABLE keyword_alerts (
      id           text PRIMARY KEY,
      user_id      text NOT NULL REFERENCES users (id),
      keyword      text NOT NULL CHECK (char_length(keyword) BETWEEN 1 AND 30),
      grams        text[] NOT NULL CHECK (cardinality(grams) > 0),
      anchor       text NOT NULL CHECK (anchor = ANY (grams)),
      category_id  text REFERENCES categories (id),
      dong_code    text REFERENCES dongs (code),
      created_at   timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX keyword_alerts_unique ON keyword_alerts (user_id, keyword, coalesce(category_id, ''), coalesce(dong_code, ''));
    CREATE INDEX keyword_alerts_user ON keyword_alerts (user_id, created_at DESC, id DESC);
    CREATE INDEX keyword_alerts_anchor ON keyword_alerts (anchor);

    -- One keyword notification per listing per user, ever: a bump or a redelivered event finds
    -- the row and queues nothing.
    CREATE TABLE keyword_alert_matches (
      product_id  text NOT NULL REFERENCES products (id),
      user_id     text NOT NULL REFERENCES users (id),
      alert_id    text NOT NULL,
      matched_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (product_id, user_id)
    );

    -- The in-app inbox, the delivery target until a push provider exists.
    CREATE TABLE notifications (
      id          text PRIMARY KEY,
      user_id     text NOT NULL REFERENCES users (id),
      kind        text NOT NULL CHECK (kind IN ('keyword_alert')),
      dedup_key   text NOT NULL,
      product_id  text REFERENCES products (id),
      data        jsonb NOT NULL DEFAULT '{}',
      created_at  timestamptz NOT NULL DEFAULT now(),
      read_at     timestamptz,
      UNIQUE (user_id, dedup_key)
    );
    CREATE INDEX notifications_user_recent ON notifications (user_id, created_at DESC, id DESC);
  `);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    DROP TABLE notifications, keyword_alert_matches, keyword_alerts, item_similarity, similarity_dirty_items;
    DROP VIEW product_interactions;
    DROP TABLE product_purchases, view_count_flushes, product_views, product_likes;
  `);
};
