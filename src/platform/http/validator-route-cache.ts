// express-openapi-validator 5.6 compiles the path-to-regexp matcher of every spec route on every
// request (lookupRoute in openapi.metadata.js), so its cost grows with the size of the spec; the
// upstream fix (cdimascio/express-openapi-validator#1217) is not released. Until it is, the
// `pathToRegexp` the validator calls is memoised: same route and options, same compiled matcher
// (the regexps have no `g` flag, so sharing them is safe). Measured in docs/performance.md.

const MEMOISED = Symbol.for('junggo.pathToRegexp.memoised');

type Compile = ((path: string, options?: { sensitive?: boolean; strict?: boolean; end?: boolean }) => unknown) & { [MEMOISED]?: true };

export function memoiseValidatorRouteMatchers(): void {
  const modulePath = require.resolve('path-to-regexp', { paths: [require.resolve('express-openapi-validator')] });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(modulePath) as { pathToRegexp: Compile };
  const original = mod.pathToRegexp;
  if (original[MEMOISED]) return;
  const compiled = new Map<string, unknown>();
  const memoised: Compile = (path, options) => {
    if (typeof path !== 'string') return original(path, options);
    const key = `${options?.sensitive ? 1 : 0}${options?.strict ? 1 : 0}${options?.end === false ? 0 : 1}${path}`;
    let result = compiled.get(key);
    if (!result) compiled.set(key, (result = original(path, options)));
    return result;
  };
  memoised[MEMOISED] = true;
  mod.pathToRegexp = memoised;
}
