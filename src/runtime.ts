import type { Logger } from './platform/logger';

/**
 * The process safety net shared by the API and the worker. Signal handlers are installed before
 * start-up begins, so a SIGTERM during start-up still stops gracefully (once started). SIGTERM
 * and SIGINT stop within `timeoutMs`; an unhandled rejection or uncaught exception is logged
 * and ends the process non-zero after an attempt to stop; a failed start exits 1.
 */
export function runProcess(log: Logger, start: () => Promise<{ stop: () => Promise<void> }>, timeoutMs: number): void {
  let stopping = false;
  const running = start();
  running.catch((err) => {
    log.fatal({ err }, 'failed to start');
    process.exit(1);
  });
  const shutdown = (code: number, reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down');
    const timer = setTimeout(() => {
      log.error('shutdown timed out; exiting');
      process.exit(code || 1);
    }, timeoutMs);
    timer.unref();
    running
      .then((service) => service.stop())
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
