import { AppError } from '../../../platform/errors';

// The search component's expected failures, by problem code (documented per operation in the spec).

const param = (parameter: string, code: string, detail: string) => ({ parameter, in: 'query' as const, code, detail });

export const unknownCategory = () =>
  new AppError(400, 'unknown_category', 'Unknown category', 'No category has this id.', [param('category_id', 'unknown_category', 'No category has this id.')]);
export const unknownDong = () => new AppError(400, 'unknown_dong', 'Unknown dong', 'No dong has this code.', [param('dong_code', 'unknown_dong', 'No dong has this code.')]);
export const conflictingLocationFilters = (given: string[]) =>
  new AppError(
    400,
    'conflicting_location_filters',
    'Conflicting location filters',
    `Use only one of near, neighbourhood and dong_code (got ${given.join(', ')}).`,
    given.map((p) => param(p, 'conflicting_location_filters', 'Only one location filter may be used.')),
  );
export const locationRequired = () =>
  new AppError(400, 'location_required', 'A location is required', 'sort=distance needs near, neighbourhood or dong_code.', [
    param('sort', 'location_required', 'sort=distance needs a location.'),
  ]);
export const invalidPriceRange = () =>
  new AppError(400, 'invalid_price_range', 'Invalid price range', 'min_price is above max_price.', [param('min_price', 'invalid_price_range', 'min_price is above max_price.')]);
export const invalidCoordinates = () =>
  new AppError(400, 'invalid_coordinates', 'Invalid coordinates', 'Latitude must be within ±90 and longitude within ±180.', [
    param('near', 'invalid_coordinates', 'Latitude must be within ±90 and longitude within ±180.'),
  ]);
/** A parameter that only means something beside another (`radius` with `near`), sent without it: ignoring it would answer another question. */
export const parameterNotApplicable = (parameter: string, needs: string) =>
  new AppError(400, 'parameter_not_applicable', 'Parameter not applicable', `${parameter} applies only with ${needs}.`, [
    param(parameter, 'parameter_not_applicable', `Applies only with ${needs}.`),
  ]);
