import { createBullBoard } from '@bull-board/api';
import { BullAdapter } from '@bull-board/api/bullAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bull';
import { Router, type Express, type RequestHandler } from 'express';
import { AppError } from '../errors';
import { sendProblem } from '../http/problem';

type BoardServerAdapter = Parameters<typeof createBullBoard>[0]['serverAdapter'];

export interface QueueBoardOptions {
  /** Where the router is mounted from the app's root, e.g. '/admin/queues'; the UI builds its links from it. */
  basePath: string;
  /** Runs before every board route, the UI's JSON API and static files included. */
  authorize: RequestHandler;
}

/**
 * What the board shows of a job's payload: its shape, numbers, flags and ids, never its text. Job
 * payloads carry what the job needs to send: reset and verification links with their tokens,
 * phone numbers, SMS codes, addresses; staff looking at a queue must not be able to use them
 * (a reset link read here would open the account).
 */
export function redactJobData(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => redactJobData(v, key));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactJobData(v, k)]));
  if (typeof value === 'string') return /(^|_)id$|[a-z]Id$|^type$|^kind$|^status$/.test(key) ? value : '[redacted]';
  return value;
}

// Jobs are made by the application only: adding one here could send any e-mail or SMS from the
// platform, and editing one could redirect a message already queued.
const WRITING_JOB_CONTENT = /^\/api\/queues\/[^/]+\/(add|[^/]+\/update-data)$/;

/**
 * Bull Board (inspect, retry, promote and clean jobs) behind `authorize`, with payloads redacted
 * (redactJobData) and without adding or editing jobs. The board lists the queues given here;
 * queues made later are not added.
 */
export function queueBoardRouter(queues: Queue[], { basePath, authorize }: QueueBoardOptions): Router {
  const serverAdapter = new ExpressAdapter().setBasePath(basePath);
  const adapters = queues.map((queue) => {
    const adapter = new BullAdapter(queue);
    adapter.setFormatter('data', (data) => redactJobData(data));
    adapter.setFormatter('returnValue', (data) => redactJobData(data));
    return adapter;
  });
  createBullBoard({
    queues: adapters,
    // @bull-board/express 9.10.1 pins its own @bull-board/api 9.10.1 next to our 9.10.2, and the two
    // copies' classes do not type-check against each other (private fields). At runtime the
    // adapter only uses express and ejs. Drop the cast once both packages are on one version.
    serverAdapter: serverAdapter as unknown as BoardServerAdapter,
    options: { uiConfig: { boardTitle: 'Junggo jobs', hideDocsLink: true } },
  });
  const board = serverAdapter.getRouter() as Express;
  board.disable('x-powered-by');
  const noJobWriting: RequestHandler = (req, res, next) => {
    if (req.method !== 'GET' && WRITING_JOB_CONTENT.test(req.path)) return sendProblem(req, res, new AppError(403, 'forbidden', 'Forbidden', 'Jobs are added and changed by the application only.'));
    next();
  };
  return Router().use(basePath, authorize, noJobWriting, board);
}
