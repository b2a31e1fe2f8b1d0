import { randomUUID } from 'node:crypto';
import { loadConfigOrExit } from '../config';
import { signAccessToken } from '../platform/http/auth';

// Prints an access token for trying protected operations locally (e.g. `make dev-token ROLE=admin`)
// until the identity component issues real ones. Refuses to run in production.
const config = loadConfigOrExit();
if (config.NODE_ENV === 'production') {
  process.stderr.write('dev-token is not available in production\n');
  process.exit(1);
}
const roles = (process.argv[2] ?? '').split(',').filter(Boolean);
process.stdout.write(`${signAccessToken({ sub: `usr_dev_${randomUUID()}`, sid: `ses_${randomUUID()}`, roles }, { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER })}\n`);
