import { dirname, join } from 'node:path';
import type { NextFunction, Request, Response } from 'express';

// express-openapi-validator 5.6 finds a request's spec route (its metadata middleware,
// dist/middlewares/openapi.metadata.js) by walking every route of the spec on every request, and
// for each one reads two app settings, looks the route up in three maps and asks path-to-regexp
// for its matcher, which it compiled afresh each time (fixed upstream, unreleased:
// cdimascio/express-openapi-validator#1217). A CPU profile of cached listing reads put this walk at
// ~7 % of the API's time, growing with every route the spec gains.
//
// This installs the same middleware with the walk prepared once per validator: each route's
// matcher, parameter names, schema and response schema, in the library's own order, so the first
// match is the same route. What it sets and throws is the library's (req.openapi, req.params,
// 405 with Allow, 404 for an unknown path under a base path, 400 for a malformed escape). It is
// installed only over the version it was written against (VERIFIED_VERSION); another version keeps
// its own middleware, and test/unit/validator-route-lookup.test.ts compares the two on every route.

const VERIFIED_VERSION = /^5\.6\./;
const INSTALLED = Symbol.for('junggo.validatorRouteLookup');

/* The library's shapes this relies on (dist/framework/openapi.context.js). */
type Schema = Record<string, unknown>;
interface RouteMethods {
  basePath: string;
  _openApiRoute: string;
  _expressRoute: string;
  [method: string]: unknown;
}
interface OpenApiContext {
  apiDoc: { paths: Record<string, Record<string, Schema | undefined>> };
  expressRouteMap: Record<string, RouteMethods>;
  openApiRouteMap: Record<string, RouteMethods>;
  useRequestUrl: boolean;
  ignoreUndocumented: boolean;
  serial: number;
  shouldIgnoreRoute(path: string): boolean;
  isManagedRoute(path: string): boolean;
}
type ResponseApiDoc = { paths: Record<string, Record<string, unknown>> } | undefined;
type HttpErrorClass = new (err: { path: string; message: string; headers?: Record<string, string> }) => Error;
type Middleware = (req: Request, res: Response, next: NextFunction) => void;
type MetadataFactory = (context: OpenApiContext, responseApiDoc?: ResponseApiDoc) => Middleware;

interface PreparedRoute {
  expressRoute: string;
  openApiRoute: string;
  regexp: RegExp;
  paramNames: string[];
  /** By lower-case method: the operation and, when responses are validated, its response document. */
  schema: Record<string, Schema | undefined>;
  responseSchema: Record<string, unknown>;
}

interface Library {
  metadataModule: { applyOpenApiMetadata: MetadataFactory & { [INSTALLED]?: true } };
  pathToRegexp: (path: string, options: { sensitive: boolean; strict: boolean }) => { regexp: RegExp; keys: { name: string }[] };
  MethodNotAllowed: HttpErrorClass;
  NotFound: HttpErrorClass;
  BadRequest: HttpErrorClass;
  httpMethods: Set<string>;
}

/* eslint-disable @typescript-eslint/no-require-imports -- the library's internals, by path */
function loadLibrary(): { version: string; lib: Library } {
  const root = dirname(require.resolve('express-openapi-validator/package.json'));
  const types = require(join(root, 'dist/framework/types.js')) as Pick<Library, 'MethodNotAllowed' | 'NotFound' | 'BadRequest'>;
  return {
    version: (require(join(root, 'package.json')) as { version: string }).version,
    lib: {
      metadataModule: require(join(root, 'dist/middlewares/openapi.metadata.js')) as Library['metadataModule'],
      // The path-to-regexp the validator itself resolves (it may differ from Express's).
      pathToRegexp: (require(require.resolve('path-to-regexp', { paths: [root] })) as Pick<Library, 'pathToRegexp'>).pathToRegexp,
      MethodNotAllowed: types.MethodNotAllowed,
      NotFound: types.NotFound,
      BadRequest: types.BadRequest,
      httpMethods: (require(join(root, 'dist/middlewares/parsers/schema.preprocessor.js')) as Pick<Library, 'httpMethods'>).httpMethods,
    },
  };
}
/* eslint-enable @typescript-eslint/no-require-imports */

function prepare(lib: Library, context: OpenApiContext, responseApiDoc: ResponseApiDoc, options: { sensitive: boolean; strict: boolean }): PreparedRoute[] {
  return Object.entries(context.expressRouteMap).map(([expressRoute, methods]) => {
    const openApiRoute = methods._openApiRoute;
    const pathKey = openApiRoute.substring(methods.basePath.length);
    const { regexp, keys } = lib.pathToRegexp(expressRoute, options);
    return {
      expressRoute,
      openApiRoute,
      regexp,
      paramNames: keys.map((k) => k.name),
      schema: context.apiDoc.paths[pathKey] ?? {},
      responseSchema: responseApiDoc?.paths[pathKey] ?? {},
    };
  });
}

/** The library's metadata middleware with the route walk prepared once (see above). */
export function preparedMetadataMiddleware(lib: Library): MetadataFactory {
  return (context, responseApiDoc) => {
    let prepared: { routes: PreparedRoute[]; app: unknown } | undefined;
    return (req, _res, next) => {
      const path = req.path.startsWith(req.baseUrl) ? req.path : `${req.baseUrl}/${req.path}`;
      if (context.shouldIgnoreRoute(path)) return next();
      // The routing settings are the app's; an app is configured before it serves.
      if (prepared?.app !== req.app) {
        const options = { sensitive: !!req.app.enabled('case sensitive routing'), strict: !!req.app.enabled('strict routing') };
        prepared = { routes: prepare(lib, context, responseApiDoc, options), app: req.app };
      }
      const url = context.useRequestUrl ? req.url : req.originalUrl;
      const q = url.indexOf('?');
      const requestPath = q === -1 ? url : url.slice(0, q);
      const method = req.method.toLowerCase();
      for (const route of prepared.routes) {
        const found = route.regexp.exec(requestPath);
        if (!found) continue;
        // A malformed escape is refused before an undeclared method, as the library does.
        const pathParams: Record<string, string> = {};
        try {
          route.paramNames.forEach((name, i) => (pathParams[name] = decodeURIComponent(found[i + 1]!)));
        } catch {
          throw new lib.BadRequest({ path: req.path, message: `malformed uri'` });
        }
        const schema = route.schema[method];
        if (!schema) {
          if (context.ignoreUndocumented) return next();
          throw new lib.MethodNotAllowed({
            path: req.path,
            message: `${req.method} method not allowed`,
            headers: { Allow: Object.keys(context.openApiRouteMap[route.openApiRoute] ?? {}).filter((k) => lib.httpMethods.has(k.toLowerCase())).join(', ') },
          });
        }
        const openapi: Record<string, unknown> = { expressRoute: route.expressRoute, openApiRoute: route.openApiRoute, pathParams, schema, serial: context.serial };
        if (responseApiDoc) openapi._responseSchema = route.responseSchema[method];
        (req as Request & { openapi: unknown }).openapi = openapi;
        req.params = pathParams;
        return next();
      }
      if (context.isManagedRoute(path) && !context.ignoreUndocumented) throw new lib.NotFound({ path: req.path, message: 'not found' });
      next();
    };
  };
}

/**
 * Replaces the validator's metadata middleware with the prepared one, once per process; call it
 * before the validator's middleware is built. Returns the validator's version when it is not the
 * one this was verified against (nothing is replaced then), otherwise null.
 */
export function installValidatorRouteLookup(): string | null {
  const { version, lib } = loadLibrary();
  if (!VERIFIED_VERSION.test(version)) return version;
  if (lib.metadataModule.applyOpenApiMetadata[INSTALLED]) return null;
  const factory = preparedMetadataMiddleware(lib) as MetadataFactory & { [INSTALLED]?: true };
  factory[INSTALLED] = true;
  lib.metadataModule.applyOpenApiMetadata = factory;
  return null;
}

export { loadLibrary as loadValidatorInternals };
