import type { Sequelize, Transaction } from 'sequelize';
import type { RequestContext } from '../context';

type AfterCommitHook = Parameters<Transaction['afterCommit']>[0];

/** The transaction that owns the connection: Sequelize savepoints point at their parent. */
const rootOf = (t: Transaction): Transaction => {
  let root = t;
  while ((root as { parent?: Transaction }).parent) root = (root as unknown as { parent: Transaction }).parent;
  return root;
};

/**
 * Runs `fn` atomically: inside the request's transaction when there is one (`ctx.transaction`,
 * set by the router for an Idempotency-Key request), as a savepoint, so that a failure undoes
 * only `fn`'s writes and leaves the request's transaction usable; otherwise in a transaction of
 * its own. Either way nothing is durable until the outermost transaction commits, so register
 * post-commit work (cache drops, jobs) with `t.afterCommit`: inside a request's transaction the
 * hook runs when that commits, and not at all when `fn` or the request fails.
 */
export async function inTransaction<T>(sequelize: Sequelize, ctx: Pick<RequestContext, 'transaction'>, fn: (t: Transaction) => Promise<T>): Promise<T> {
  const parent = ctx.transaction;
  if (!parent) return sequelize.transaction(fn);
  // Sequelize names a savepoint after its parent's count of savepoints, so two nested levels
  // would share a name and ROLLBACK TO would stop at the inner one; savepoints hung on the root
  // get unique names, and PostgreSQL nests them by time, which is the call nesting here.
  const hooks: AfterCommitHook[] = [];
  const result = await sequelize.transaction({ transaction: rootOf(parent) }, (savepoint) => {
    // A savepoint's own "commit" is a no-op that would run its hooks at once: defer them to the parent.
    savepoint.afterCommit = (hook) => void hooks.push(hook);
    return fn(savepoint);
  });
  for (const hook of hooks) parent.afterCommit(hook);
  return result;
}
