import type { RequestHandler } from 'express';
import { runWithContext } from '../context';
import type { Logger } from '../logger';
import type { Metrics } from './metrics';

/**
 * Opens the request's context (so every log line carries its request_id), and on finish writes
 * one access-log line and observes the duration histogram by operationId.
 */
export function accessLog(log: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const path = req.originalUrl.split('?')[0]!;
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const operationId: string = res.locals.operationId ?? (path.startsWith('/v1/') ? 'unknown' : path);
      metrics.httpDuration.observe({ operation_id: operationId, method: req.method, status: String(res.statusCode) }, seconds);
      const line = {
        request_id: res.locals.requestId,
        method: req.method,
        path,
        operation_id: res.locals.operationId,
        status: res.statusCode,
        duration_ms: Math.round(seconds * 1e4) / 10,
      };
      if (res.statusCode >= 500) log.error(line, 'request failed');
      else log.info(line, 'request');
    });
    runWithContext({ requestId: res.locals.requestId as string }, next);
  };
}
