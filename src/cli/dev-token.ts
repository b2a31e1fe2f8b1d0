import { randomUUID } from 'node:crypto';
import { loadConfigOrExit, type Config } from '../config';
import { signAccessToken } from '../platform/http/auth';

/**
 * An access token for trying protected operations locally (`make dev-token ROLE=admin`) until
 * the identity component issues real ones. Refused in production.
 */
export function devToken(roleList: string | undefined, config: Config): string {
  if (config.NODE_ENV === 'production') throw new Error('dev-token is not available in production');
  const roles = (roleList ?? '').split(',').filter(Boolean);
  return signAccessToken({ sub: `usr_dev_${randomUUID()}`, sid: `ses_${randomUUID()}`, roles }, { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER });
}

if (require.main === module) {
  try {
    process.stdout.write(`${devToken(process.argv[2], loadConfigOrExit())}\n`);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
