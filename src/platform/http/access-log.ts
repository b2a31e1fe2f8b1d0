import type { RequestHandler } from 'express';
import { createRequestContext } from '../context';
import type { Logger } from '../logger';
import type { Metrics } from './metrics';

/**
 * Opens the request's context (`res.locals.ctx`, whose logger stamps every line with the
 * request_id), and on finish writes one access-log line (request_id included) and observes the
 * duration histogram by operationId. Kept lean: it runs on every request.
 */
export function accessLog(log: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const requestId = res.locals.requestId as string;
    res.locals.ctx = createRequestContext(requestId, log, () => ({
      ip: req.ip ?? req.socket.remoteAddress ?? 'unknown',
      userAgent: (req.get('user-agent') ?? '').slice(0, 512),
    }));
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // The validator names the operation even when it rejects the request before the handler.
      const matched = (req as { openapi?: { schema?: { operationId?: string } } }).openapi?.schema?.operationId;
      const operationId: string = res.locals.operationId ?? matched ?? 'unmatched';
      const status = res.statusCode;
      metrics.observeRequest(operationId, req.method, status, seconds);
      const line = {
        request_id: requestId,
        method: req.method,
        path: req.originalUrl.split('?')[0],
        operation_id: operationId,
        status,
        duration_ms: Math.round(seconds * 1e4) / 10,
      };
      if (status >= 500) log.error(line, 'request failed');
      else log.info(line, 'request');
    });
    next();
  };
}
