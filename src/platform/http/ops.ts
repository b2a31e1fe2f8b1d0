import { Router, type RequestHandler } from 'express';
import { AppError } from '../errors';
import { checkHealth, type HealthCheck } from '../health';
import type { Metrics } from './metrics';
import type { OpsOperationId } from './operations';
import { listOperations, type SpecArtefacts } from './spec';

// Redoc runs inline scripts and a blob: worker; only its page gets this policy.
const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline' blob:",
  "worker-src 'self' blob:",
  "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com",
  "font-src 'self' data: https://fonts.gstatic.com",
  "img-src 'self' data: https:",
  "connect-src 'self'",
].join('; ');

/** Ops routes take no parameters, like every request schema here is closed. */
const noQuery: RequestHandler = (req, _res, next) => {
  const names = Object.keys(req.query);
  if (names.length === 0) return next();
  next(
    new AppError(400, 'validation_failed', 'The request is not valid', 'This operation takes no parameters.',
      names.map((name) => ({ parameter: name, in: 'query' as const, code: 'unknown_parameter', detail: `Unknown query parameter '${name}'` }))),
  );
};

/** Health, metrics, the description itself and the job board, outside /v1, the rate limiter and the validator. */
export function opsRouter(spec: SpecArtefacts, metrics: Metrics, checks: HealthCheck[], queueBoard: Router): Router {
  const handlers: Record<OpsOperationId, RequestHandler> = {
    getLiveness: (_req, res) => void res.json({ status: 'ok', checks: {} }),
    getReadiness: async (_req, res) => {
      const report = await checkHealth(checks);
      res.status(report.status === 'unavailable' ? 503 : 200).json(report);
    },
    getMetrics: async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
    getApiDocs: (_req, res) => {
      res.setHeader('Content-Security-Policy', DOCS_CSP);
      res.type('text/html').send(spec.docsHtml);
    },
    getOpenApiJson: (_req, res) => void res.type('application/json').send(spec.publicJson),
    getOpenApiYaml: (_req, res) => void res.type('application/yaml').send(spec.publicYaml),
    // Mounted with its own base path, sub-routes and admin check (queueBoardRouter).
    getQueueBoard: queueBoard,
  };
  const router = Router();
  // Paths come from the spec (these operations declare their own root-level server).
  for (const op of listOperations(spec.document).filter((o) => o.operationId in handlers)) {
    const operationId = op.operationId as OpsOperationId;
    if (operationId === 'getQueueBoard') {
      router.use(op.path, (_req, res, next) => ((res.locals.operationId = operationId), next()));
      router.use(handlers.getQueueBoard);
      continue;
    }
    router.get(op.path, (_req, res, next) => ((res.locals.operationId = operationId), next()), noQuery, handlers[operationId]);
    router.all(op.path, (_req, _res, next) =>
      next(new AppError(405, 'method_not_allowed', 'Method not allowed', 'This path does not support this method.', [], { Allow: 'GET, HEAD' })),
    );
  }
  return router;
}
