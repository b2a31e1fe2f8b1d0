import { readDongs } from '../modules/neighbourhoods/data/dongs-csv';
import type { Migration } from '../platform/db/migrator';

export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    CREATE EXTENSION IF NOT EXISTS cube;
    CREATE EXTENSION IF NOT EXISTS earthdistance;
    -- 행정동 with a representative point (data/korea-dongs, 기상청(KMA) 단기예보 격자 위경도 자료).
    CREATE TABLE dongs (
      code     text PRIMARY KEY CHECK (code ~ '^[0-9]{10}$'),
      sido     text NOT NULL,
      sigungu  text NOT NULL,
      name     text NOT NULL,
      lat      double precision NOT NULL CHECK (lat BETWEEN 30 AND 40),
      lng      double precision NOT NULL CHECK (lng BETWEEN 120 AND 135)
    );
    -- Nearest-point and within-radius searches go through this index (earthdistance over cube).
    CREATE INDEX dongs_earth ON dongs USING gist (ll_to_earth(lat, lng));
  `);
  const rows = readDongs();
  await sequelize.query(
    `INSERT INTO dongs (code, sido, sigungu, name, lat, lng)
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS d(code text, sido text, sigungu text, name text, lat float8, lng float8)`,
    { bind: [JSON.stringify(rows)] },
  );
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP TABLE dongs');
};
