import { parseArgs } from 'node:util';
import { createLogger } from '../../platform/logger';
import { startMailboxHttp } from './mailbox-http';
import { startSmtpSimulator } from './smtp-simulator';

// `tsx src/integrations/email/simulator-cli.ts --port 1025 --http-port 8025`: the mail relay of
// `make start`. Each message received is logged with its text, and listed over HTTP
// (mailbox-http.ts), which is how a developer or a load test follows a link.
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '1025' }, host: { type: 'string', default: '127.0.0.1' }, 'http-port': { type: 'string', default: '8025' } },
  });
  const log = createLogger('info', 'smtp-simulator');
  const simulator = await startSmtpSimulator({ port: Number(values.port), host: values.host, log });
  const mailbox = await startMailboxHttp(simulator, Number(values['http-port']), values.host);
  log.info({ url: simulator.url, mailbox: `${mailbox.url}/api/messages` }, 'smtp simulator listening (SMTP_URL)');
  const stop = () => void Promise.all([simulator.stop(), mailbox.stop()]).then(() => process.exit(0));
  process.once('SIGTERM', stop).once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`smtp simulator: ${(err as Error).message}\n`);
  process.exit(1);
});
