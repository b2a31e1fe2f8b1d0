/**
 * Whether an account may act now, in SQL: active, or suspended with the suspension's end passed
 * (the job that lifts it may run late, or never have been queued). The same rule as isBlocked
 * (domain/user.ts); `alias` is the users table's alias in the statement, a name from code.
 */
export const accountInForce = (alias?: string): string => {
  const c = alias ? `${alias}.` : '';
  return `(${c}status = 'active' OR (${c}status = 'suspended' AND ${c}suspended_until <= now()))`;
};
