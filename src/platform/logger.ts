import pino, { type Logger } from 'pino';
import { currentContext } from './context';

export type { Logger };

/** JSON logs; every line written while serving a request carries its request_id. */
export function createLogger(level: string, name: string): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const ctx = currentContext();
      return ctx ? { request_id: ctx.requestId, user_id: ctx.actor?.userId } : {};
    },
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token'], censor: '[redacted]' },
  });
}
