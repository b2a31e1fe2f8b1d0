import { Presets, SingleBar } from 'cli-progress';
import { databaseOptions, loadConfigOrExit, type Config } from '../../../config';
import { createSequelize } from '../../../platform/db/sequelize';
import { createLogger } from '../../../platform/logger';
import { searchIndexFor } from '..';
import { rebuildSearchIndex } from '../index-feeder';

/**
 * `npx tsx src/modules/search/cli/rebuild.ts`: rebuilds the search index (PostgreSQL, or
 * Elasticsearch when ELASTICSEARCH_URL is set) from the event store into a fresh index that then
 * replaces the live one. Safe while events arrive and while the worker runs.
 */
export async function rebuildSearch(config: Config, progress = true): Promise<string> {
  const log = createLogger('warn', 'search-rebuild');
  const sequelize = createSequelize(databaseOptions(config), log);
  const index = searchIndexFor(config, sequelize, log);
  const bar = new SingleBar({ format: 'search index [{bar}] {percentage}% | position {value}/{total}', hideCursor: true }, Presets.shades_classic);
  let started = false;
  try {
    const { applied, head } = await rebuildSearchIndex(index, sequelize, (done, total) => {
      if (!progress) return;
      if (!started) bar.start(total, 0);
      started = true;
      bar.update(Math.min(done, total));
    });
    return `rebuilt the search index (${index.kind}): ${applied} event(s) applied up to position ${head} and after`;
  } finally {
    if (started) bar.stop();
    await index.close();
    await sequelize.close();
  }
}

if (require.main === module) {
  rebuildSearch(loadConfigOrExit()).then(
    (summary) => process.stdout.write(`${summary}\n`),
    (err) => {
      process.stderr.write(`search rebuild failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
