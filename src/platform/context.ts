import type { Transaction } from 'sequelize';
import type { Logger } from './logger';

/** Who is acting. Absent for anonymous callers. */
export interface Actor {
  userId: string;
  roles: string[];
  sessionId: string;
}

/**
 * Passed first to every use case (explicit, Vendure-style): who acts, which request, and a
 * logger whose every line carries the request id. Explicit rather than AsyncLocalStorage, which
 * cost a quarter of the throughput of a cached read on Node 20 (docs/performance.md).
 */
export interface RequestContext {
  readonly requestId: string;
  actor?: Actor;
  readonly log: Logger;
  /**
   * The request's database transaction, when the router opened one (an Idempotency-Key request):
   * use cases join it through `inTransaction` (platform/db/transaction.ts), so that their writes
   * and the stored response commit together.
   */
  transaction?: Transaction;
  /** The caller's address (from the trusted proxy chain only) and user agent, for sessions, limits and fraud signals. */
  readonly client: ClientInfo;
}

export interface ClientInfo {
  ip: string;
  userAgent: string;
}

const UNKNOWN_CLIENT: ClientInfo = { ip: 'unknown', userAgent: '' };

/** The logger child is made on first use: most requests log only their access line. */
export function createRequestContext(requestId: string, baseLog: Logger, readClient?: () => ClientInfo): RequestContext {
  let child: Logger | undefined;
  let client: ClientInfo | undefined;
  return {
    requestId,
    get log() {
      return (child ??= baseLog.child({ request_id: requestId }));
    },
    // Resolving the proxy chain costs a little; most requests never ask.
    get client() {
      return (client ??= readClient?.() ?? UNKNOWN_CLIENT);
    },
  };
}
