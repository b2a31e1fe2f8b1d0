import path from 'node:path';
import { Umzug, SequelizeStorage } from 'umzug';
import type { QueryInterface, Sequelize } from 'sequelize';
import type { Logger } from '../logger';

export interface MigrationContext {
  queryInterface: QueryInterface;
  sequelize: Sequelize;
}
export type Migration = (params: { context: MigrationContext }) => Promise<void>;

/** Versioned migrations in src/migrations, applied in file-name order and recorded in SequelizeMeta. */
export function createMigrator(sequelize: Sequelize, log: Logger) {
  const dir = path.resolve(__dirname, '..', '..', 'migrations');
  return new Umzug<MigrationContext>({
    migrations: {
      glob: ['*.{ts,js}', { cwd: dir, ignore: ['*.d.ts', '*.map'] }],
      resolve: ({ name, path: file, context }) => {
        const load = () => import(file!) as Promise<{ up: Migration; down: Migration }>;
        return {
          name: name.replace(/\.(ts|js)$/, ''),
          up: async () => (await load()).up({ context }),
          down: async () => (await load()).down({ context }),
        };
      },
    },
    context: { queryInterface: sequelize.getQueryInterface(), sequelize },
    storage: new SequelizeStorage({ sequelize }),
    logger: { info: (m) => log.info(m), warn: (m) => log.warn(m), error: (m) => log.error(m), debug: (m) => log.debug(m) },
  });
}
