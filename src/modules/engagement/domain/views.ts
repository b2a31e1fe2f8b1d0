import { createHash } from 'node:crypto';
import { ipKeyGenerator } from 'express-rate-limit';
import type { RequestContext } from '../../../platform/context';
import { koreanDate } from '../../../platform/korean-date';
import type { Logger } from '../../../platform/logger';
import type { ViewFlushRepository } from '../data/view-flush-repository';
import type { ViewStore } from '../data/view-store';


const digest = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 22);

/**
 * Who is viewing, for de-duplication: the signed-in user, else a hash of the address and user
 * agent, with a hash of the address alone for the per-address cap (neither is kept, and the
 * hashes only live in Redis for a day and a half).
 */
export function viewerOf(ctx: Pick<RequestContext, 'actor' | 'client'>): { key: string; userId?: string; address?: string } {
  if (ctx.actor) return { key: `u:${ctx.actor.userId}`, userId: ctx.actor.userId };
  // The address as the rate limiter groups it (an IPv6 /56), so rotating within one's own block is one address.
  return { key: `a:${digest(`${ctx.client.ip}\n${ctx.client.userAgent}`)}`, address: digest(ipKeyGenerator(ctx.client.ip)) };
}

export function viewUseCases(deps: { store: ViewStore; flushes: ViewFlushRepository }) {
  const { store, flushes } = deps;
  return {
    /**
     * Counts a view of a listing detail (once per viewer per day, at most
     * ANONYMOUS_VIEWERS_PER_ADDRESS anonymous viewers per address; the seller's own views never).
     * Never throws: a Redis failure loses the view, not the request.
     */
    async recordView(ctx: Pick<RequestContext, 'actor' | 'client' | 'log'>, productId: string, opts: { sellerId?: string } = {}): Promise<void> {
      if (opts.sellerId && ctx.actor?.userId === opts.sellerId) return;
      try {
        await store.record(koreanDate(), productId, viewerOf(ctx));
      } catch (err) {
        ctx.log.warn({ err, product_id: productId }, 'could not count a view');
      }
    },

    /**
     * Moves the counted views to products.view_count: claims what is pending as a batch, then
     * applies every claimed batch (this one and any a crashed run left) exactly once.
     */
    async flush(log: Logger): Promise<{ batches: number; applied: number }> {
      await store.claim();
      let applied = 0;
      const ids = await store.batches();
      for (const id of ids) {
        const batch = await store.read(id);
        if (await flushes.apply(batch)) applied++;
        await store.drop(id);
      }
      if (ids.length) log.debug({ batches: ids.length, applied }, 'views flushed');
      return { batches: ids.length, applied };
    },
  };
}
export type ViewUseCases = ReturnType<typeof viewUseCases>;
