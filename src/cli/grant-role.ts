import { randomUUID } from 'node:crypto';
import { databaseOptions, loadConfigOrExit, type Config } from '../config';
import { createSequelize } from '../platform/db/sequelize';
import { eventRecorder } from '../platform/events/event-store';
import { createLogger } from '../platform/logger';
import { createAccountRepository } from '../modules/users/admin/data/account-repository';
import { personalDataCipher } from '../modules/users';
import { normaliseRoles, ROLES } from '../modules/users/domain/permissions';
import type { Role } from '../modules/users/domain/user';

/**
 * Grants a role to the account with this e-mail address (`npx tsx src/cli/grant-role.ts
 * <email> <role>`): how the first admin comes to be, since only admins assign roles through the
 * API. Needs database access, which is the authority here. Recorded as the audited event
 * `user.roles_changed` with `by: null` and `via: cli`. The role shows in the user's next token
 * (sign in again, or refresh).
 */
export async function grantRole(email: string | undefined, role: string | undefined, config: Config): Promise<string> {
  if (!email || !role) throw new Error('usage: grant-role <email> <role>');
  if (!(ROLES as readonly string[]).includes(role)) throw new Error(`unknown role '${role}' (known: ${ROLES.join(', ')})`);
  const sequelize = createSequelize(databaseOptions(config), createLogger('warn', 'grant-role'));
  try {
    const accounts = createAccountRepository(sequelize, personalDataCipher(config));
    const recordEvents = eventRecorder(sequelize);
    return await sequelize.transaction(async (t) => {
      const found = await accounts.findByEmail(email, t);
      if (!found) throw new Error('no account has this e-mail address');
      const target = (await accounts.findByIdForUpdate(found.id, t))!;
      const previous = normaliseRoles(target.roles);
      if (previous.includes(role as Role)) return `${target.id} already has the role ${role} (roles: ${previous.join(', ')})`;
      const roles = normaliseRoles([...previous, role]);
      await accounts.setRoles(target.id, roles, t);
      const requestId = `cli_${randomUUID().replace(/-/g, '')}`;
      await recordEvents(
        t,
        { type: 'user', id: target.id },
        [{ type: 'user.roles_changed', payload: { user_id: target.id, previous, roles, by: null, via: 'cli' } }],
        { request_id: requestId, correlation_id: requestId },
      );
      return `${target.id} now has the roles: ${roles.join(', ')}`;
    });
  } finally {
    await sequelize.close();
  }
}

if (require.main === module) {
  grantRole(process.argv[2], process.argv[3], loadConfigOrExit()).then(
    (summary) => process.stdout.write(`${summary}\n`),
    (err) => {
      process.stderr.write(`grant-role failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
