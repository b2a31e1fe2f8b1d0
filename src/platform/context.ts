import { AsyncLocalStorage } from 'node:async_hooks';

/** Who is acting. Absent for anonymous callers. */
export interface Actor {
  userId: string;
  roles: string[];
  sessionId: string;
}

/** Passed first to every use case (explicit, Vendure-style) and kept in async storage for log lines. */
export interface RequestContext {
  requestId: string;
  actor?: Actor;
}

const storage = new AsyncLocalStorage<RequestContext>();

export const runWithContext = <T>(ctx: RequestContext, fn: () => T): T => storage.run(ctx, fn);
export const currentContext = (): RequestContext | undefined => storage.getStore();
