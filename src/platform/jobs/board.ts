import { createBullBoard } from '@bull-board/api';
import { BullAdapter } from '@bull-board/api/bullAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bull';
import { Router, type Express, type RequestHandler } from 'express';

type BoardServerAdapter = Parameters<typeof createBullBoard>[0]['serverAdapter'];

export interface QueueBoardOptions {
  /** Where the router is mounted from the app's root, e.g. '/admin/queues'; the UI builds its links from it. */
  basePath: string;
  /** Runs before every board route, the UI's JSON API and static files included. */
  authorize: RequestHandler;
}

/**
 * Bull Board (inspect, retry, promote and clean jobs) behind `authorize`. The board lists the
 * queues given here; queues made later are not added.
 */
export function queueBoardRouter(queues: Queue[], { basePath, authorize }: QueueBoardOptions): Router {
  const serverAdapter = new ExpressAdapter().setBasePath(basePath);
  createBullBoard({
    queues: queues.map((queue) => new BullAdapter(queue)),
    // @bull-board/express 9.10.1 pins its own @bull-board/api 9.10.1 next to our 9.10.2, and the two
    // copies' classes do not type-check against each other (private fields). At runtime the
    // adapter only uses express and ejs. Drop the cast once both packages are on one version.
    serverAdapter: serverAdapter as unknown as BoardServerAdapter,
    options: { uiConfig: { boardTitle: 'Junggo jobs', hideDocsLink: true } },
  });
  const board = serverAdapter.getRouter() as Express;
  board.disable('x-powered-by');
  return Router().use(basePath, authorize, board);
}
