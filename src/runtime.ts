import type { Logger } from './platform/logger';

/**
 * The process safety net shared by the API and the worker: SIGTERM/SIGINT stop gracefully
 * (bounded by a timeout), and an unhandled rejection or uncaught exception is logged and ends
 * the process with a non-zero code after an attempt to stop.
 */
export function runProcess(log: Logger, stop: () => Promise<void>, timeoutMs: number): void {
  let stopping = false;
  const shutdown = (code: number, reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down');
    const timer = setTimeout(() => {
      log.error('shutdown timed out; exiting');
      process.exit(code || 1);
    }, timeoutMs);
    timer.unref();
    stop()
      .then(() => process.exit(code))
      .catch((err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown(0, 'SIGTERM'));
  process.on('SIGINT', () => shutdown(0, 'SIGINT'));
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled rejection');
    shutdown(1, 'unhandledRejection');
  });
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception');
    shutdown(1, 'uncaughtException');
  });
}
