import { parseArgs } from 'node:util';
import { createLogger } from '../../platform/logger';
import { SENS_SIMULATOR_DEFAULTS, startSmsSimulator } from './sms-simulator';

// `tsx src/integrations/sms/simulator-cli.ts --port 4030`: the SENS stand-in of `make start`.
// The keys default to SENS_SIMULATOR_DEFAULTS, the same as the config defaults; each message
// accepted is logged with its text, which is how a developer reads a code.
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '4030' },
      host: { type: 'string', default: '127.0.0.1' },
      'access-key': { type: 'string', default: SENS_SIMULATOR_DEFAULTS.accessKey },
      'secret-key': { type: 'string', default: SENS_SIMULATOR_DEFAULTS.secretKey },
      'service-id': { type: 'string', default: SENS_SIMULATOR_DEFAULTS.serviceId },
    },
  });
  const log = createLogger('info', 'sms-simulator');
  const simulator = await startSmsSimulator({
    port: Number(values.port),
    host: values.host,
    accessKey: values['access-key'],
    secretKey: values['secret-key'],
    serviceId: values['service-id'],
    log,
  });
  log.info({ url: simulator.url, service_id: simulator.serviceId }, 'sms simulator listening (SMS_PROVIDER_URL)');
  const stop = () => void simulator.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop).once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`sms simulator: ${(err as Error).message}\n`);
  process.exit(1);
});
