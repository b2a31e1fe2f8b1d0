import { parseArgs } from 'node:util';
import { createLogger } from '../../platform/logger';
import { NICE_SIMULATOR_DEFAULTS, startNiceSimulator } from './nice-simulator';

// `tsx src/integrations/identity/simulator-cli.ts --port 4050`: the NICE stand-in of `make start`,
// both the API gateway and the standard window. Open an authUrl in a browser to get a form that
// "verifies" whoever is typed in and sends the browser back to the return URL.
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '4050' },
      host: { type: 'string', default: '127.0.0.1' },
      'client-id': { type: 'string', default: NICE_SIMULATOR_DEFAULTS.clientId },
      'client-secret': { type: 'string', default: NICE_SIMULATOR_DEFAULTS.clientSecret },
      'product-id': { type: 'string', default: NICE_SIMULATOR_DEFAULTS.productId },
      'site-code': { type: 'string', default: NICE_SIMULATOR_DEFAULTS.siteCode },
      'ttl-seconds': { type: 'string', default: '600' },
    },
  });
  const ttlSeconds = Number(values['ttl-seconds']);
  if (!(ttlSeconds > 0)) throw new Error('--ttl-seconds must be a positive number');
  const log = createLogger('info', 'nice-simulator');
  const simulator = await startNiceSimulator({
    port: Number(values.port),
    host: values.host,
    clientId: values['client-id'],
    clientSecret: values['client-secret'],
    productId: values['product-id'],
    siteCode: values['site-code'],
    transactionTtlMs: ttlSeconds * 1000,
    log,
  });
  log.info({ url: simulator.url, site_code: simulator.siteCode }, 'nice simulator listening (API gateway and window)');
  const stop = () => void simulator.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop).once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`nice simulator: ${(err as Error).message}\n`);
  process.exit(1);
});
