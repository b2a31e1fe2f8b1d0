import { parseArgs } from 'node:util';
import { createLogger } from '../../platform/logger';
import { GOOGLE_SIMULATOR_DEFAULTS, startGoogleSimulator } from './google-simulator';
import { KAKAO_SIMULATOR_DEFAULTS, startKakaoSimulator } from './kakao-simulator';

// `tsx src/integrations/social/simulator-cli.ts --google-port 4040 --kakao-port 4041`: the Google
// and Kakao stand-ins of `make start`. Client ids and secrets default to *_SIMULATOR_DEFAULTS, the
// same as the config defaults should; every login completes at once as the simulators' default user.
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'google-port': { type: 'string', default: '4040' },
      'kakao-port': { type: 'string', default: '4041' },
      host: { type: 'string', default: '127.0.0.1' },
      'google-redirect-uri': { type: 'string', multiple: true, default: [...GOOGLE_SIMULATOR_DEFAULTS.redirectUris] },
      'kakao-redirect-uri': { type: 'string', multiple: true, default: [...KAKAO_SIMULATOR_DEFAULTS.redirectUris] },
    },
  });
  const log = createLogger('info', 'social-simulator');
  const google = await startGoogleSimulator({ port: Number(values['google-port']), host: values.host, redirectUris: values['google-redirect-uri'], log });
  const kakao = await startKakaoSimulator({ port: Number(values['kakao-port']), host: values.host, redirectUris: values['kakao-redirect-uri'], log }).catch(async (err: unknown) => {
    await google.stop();
    throw err;
  });
  log.info({ url: google.url, client_id: google.clientId, redirect_uris: google.redirectUris }, 'google simulator listening (GOOGLE_ISSUER)');
  log.info({ url: kakao.url, client_id: kakao.clientId, redirect_uris: kakao.redirectUris }, 'kakao simulator listening (KAKAO_AUTH_URL, KAKAO_API_URL)');
  const stop = () => void Promise.all([google.stop(), kakao.stop()]).then(() => process.exit(0));
  process.once('SIGTERM', stop).once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`social simulator: ${(err as Error).message}\n`);
  process.exit(1);
});
