import { AppError } from '../../../../platform/errors';

// Expected failures of staff operations, by problem code (documented per operation in the spec).

const untilProblem = (code: string, title: string, detail: string) => new AppError(422, code, title, detail, [{ pointer: '/until', code, detail }]);

export const untilRequired = () => untilProblem('until_required', 'A suspension needs an end', 'Give `until`, or use `kind: ban` for an indefinite ban.');
export const untilNotAllowed = () => untilProblem('until_not_allowed', 'A ban has no end', 'A ban lasts until it is lifted: leave `until` out, or use `kind: suspend`.');
export const untilInvalid = () => untilProblem('until_invalid', 'The end is not a moment', '`until` must name an instant, such as 2026-12-31T23:59:59Z (no leap second).');
export const untilTooSoon = (minSeconds: number) =>
  untilProblem('until_too_soon', 'The suspension is too short', `A suspension must last at least ${Math.round(minSeconds / 60)} minutes (the access-token lifetime).`);
export const untilTooFar = (maxDays: number) => untilProblem('until_too_far', 'The suspension is too long', `A suspension may last at most ${maxDays} days; ban instead.`);
export const cannotTargetSelf = () => new AppError(422, 'cannot_target_self', 'Not on your own account', 'Staff cannot suspend or ban their own account.');
export const lastAdmin = () =>
  new AppError(409, 'last_admin', 'The last admin must stay', 'This would leave no active admin. Make another account admin first.');
