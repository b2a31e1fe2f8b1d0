import type { Sequelize } from 'sequelize';
import type { Config } from '../../../config';
import { eventRecorder } from '../../../platform/events/event-store';
import type { JobQueues } from '../../../platform/jobs/job-queues';
import { personalDataCipher, type UsersModule } from '../index';
import { createAccountRepository } from './data/account-repository';
import { accountAdminUseCases } from './domain/account-admin';
import { getUserAccount } from './http/getUserAccount';
import { listUsers } from './http/listUsers';
import { reinstateUser } from './http/reinstateUser';
import { replaceUserRoles } from './http/replaceUserRoles';
import { suspendUser } from './http/suspendUser';
import { endSuspensionJob } from './jobs';

/** The end-of-suspension job, for the worker (which processes it) and the API (which queues it). */
export const endSuspensionJobFor = (config: Config, sequelize: Sequelize) =>
  endSuspensionJob({ sequelize, accounts: createAccountRepository(sequelize, personalDataCipher(config)), recordEvents: eventRecorder(sequelize) });

/** Wires account administration (staff operations on users) onto the users component's sessions and token revocations. */
export function accountAdminModule(d: { config: Config; sequelize: Sequelize; users: Pick<UsersModule, 'deps'>; jobs: JobQueues }) {
  const { deps } = d.users;
  const endSuspension = endSuspensionJobFor(d.config, d.sequelize);
  const admin = accountAdminUseCases({
    sequelize: d.sequelize,
    accounts: createAccountRepository(d.sequelize, personalDataCipher(d.config)),
    sessions: deps.sessions,
    revocations: deps.revocations,
    recordEvents: deps.recordEvents,
    accessTtlSeconds: deps.tokens.accessTtlSeconds,
    scheduleSuspensionEnd: async (userId, until, causationId) => {
      await d.jobs.enqueue(endSuspension, { user_id: userId, until: until.toISOString(), suspension_event_id: causationId }, { causationId, delayMs: until.getTime() - Date.now() });
    },
  });
  return {
    admin,
    handlers: {
      listUsers: listUsers(admin),
      getUserAccount: getUserAccount(admin),
      suspendUser: suspendUser(admin),
      reinstateUser: reinstateUser(admin),
      replaceUserRoles: replaceUserRoles(admin),
    },
  };
}

export type AccountAdminModule = ReturnType<typeof accountAdminModule>;
