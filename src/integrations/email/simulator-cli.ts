import { parseArgs } from 'node:util';
import { createLogger } from '../../platform/logger';
import { startSmtpSimulator } from './smtp-simulator';

// `tsx src/integrations/email/simulator-cli.ts --port 1025`: the mail relay of `make start`.
// Each message received is logged with its text, which is how a developer follows a link.
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '1025' }, host: { type: 'string', default: '127.0.0.1' } } });
  const log = createLogger('info', 'smtp-simulator');
  const simulator = await startSmtpSimulator({ port: Number(values.port), host: values.host, log });
  log.info({ url: simulator.url }, 'smtp simulator listening (SMTP_URL)');
  const stop = () => void simulator.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop).once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`smtp simulator: ${(err as Error).message}\n`);
  process.exit(1);
});
