import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import express, { type Request } from 'express';
import { beforeAll, describe, expect, it } from 'vitest';
import { installValidatorRouteLookup, loadValidatorInternals, preparedMetadataMiddleware } from '../../src/platform/http/validator-route-lookup';
import { loadSpec } from '../../src/platform/http/spec';

// The prepared route lookup must decide exactly as the library's own: the same route, parameters,
// schema and errors for every route of our spec, under every method, with plain, escaped and
// malformed parameters, and for paths no route takes.

const require = createRequire(__filename);
const root = dirname(require.resolve('express-openapi-validator/package.json'));
/* eslint-disable @typescript-eslint/no-require-imports */
const { OpenApiSpecLoader } = require(join(root, 'dist/framework/openapi.spec.loader.js'));
const { OpenApiContext } = require(join(root, 'dist/framework/openapi.context.js'));
/* eslint-enable @typescript-eslint/no-require-imports */

/** The library's own middleware, from a fresh copy of its module (the shared one may be replaced). */
function libraryMetadataFactory() {
  const file = join(root, 'dist/middlewares/openapi.metadata.js');
  const cached = require.cache[file];
  delete require.cache[file];
  try {
    return require(file).applyOpenApiMetadata;
  } finally {
    if (cached) require.cache[file] = cached;
  }
}

type Outcome = { next: boolean; openapi?: unknown; params?: unknown; error?: { name: string; status: unknown; message: string; headers: unknown } };

function run(middleware: (req: Request, res: never, next: () => void) => void, app: express.Express, method: string, url: string): Outcome {
  const path = url.split('?')[0]!;
  const req = { method, url, originalUrl: url, path, baseUrl: '', app, params: {} } as unknown as Request & { openapi?: unknown };
  let next = false;
  try {
    middleware(req, {} as never, () => (next = true));
  } catch (e) {
    const err = e as Error & { status?: unknown; headers?: unknown };
    return { next, error: { name: err.constructor.name, status: err.status, message: err.message, headers: err.headers } };
  }
  return { next, openapi: req.openapi, params: req.params };
}

describe('the prepared validator route lookup', () => {
  const spec = loadSpec();
  let context: unknown;
  beforeAll(async () => {
    const loaded = await new OpenApiSpecLoader({ apiDoc: structuredClone(spec.document), validateApiSpec: false }).load();
    context = new OpenApiContext(loaded, undefined, false, false);
  });

  const urls = (): string[] => {
    const out = ['/v1/nope', '/v1', '/v1/', '/v1/products/', '/V1/PRODUCTS', '/v1/products/a/b/c/d', '/health/live', '/elsewhere', '/v1/products?x=1'];
    for (const route of Object.keys(spec.document.paths)) {
      const full = `/v1${route}`;
      for (const value of ['prd_0ABC', '%EC%A4%91%EA%B3%A0', '%E0%A4%A', 'a.b-c']) out.push(`${full.replace(/\{[^}]+\}/g, value)}?q=1`);
      out.push(`${full.replace(/\{[^}]+\}/g, 'x')}/`);
    }
    return out;
  };

  it('decides every route, method and parameter as the library does', () => {
    const app = express();
    const library = libraryMetadataFactory()(context, spec.document);
    const prepared = preparedMetadataMiddleware(loadValidatorInternals().lib)(context as never, spec.document as never);
    let compared = 0;
    for (const url of urls()) {
      for (const method of ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD']) {
        expect(run(prepared, app, method, url), `${method} ${url}`).toEqual(run(library, app, method, url));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(300);
  });

  it('finds the listing route with its decoded id, and refuses a malformed escape and an undeclared method', () => {
    const app = express();
    const prepared = preparedMetadataMiddleware(loadValidatorInternals().lib)(context as never, undefined);
    const found = run(prepared, app, 'GET', '/v1/products/%EC%A4%91?x=1');
    expect(found).toMatchObject({ next: true, params: { product_id: '중' }, openapi: { openApiRoute: '/v1/products/{product_id}' } });
    expect(run(prepared, app, 'GET', '/v1/products/%E0%A4%A').error).toMatchObject({ status: 400 });
    expect(run(prepared, app, 'PATCH', '/v1/products/prd_1').error).toMatchObject({ status: 405, headers: { Allow: expect.stringContaining('GET') } });
    expect(run(prepared, app, 'GET', '/v1/nope').error).toMatchObject({ status: 404 });
  });

  it('is installed over the verified version', () => {
    expect(installValidatorRouteLookup()).toBeNull();
    const { lib } = loadValidatorInternals();
    expect(lib.metadataModule.applyOpenApiMetadata).not.toBe(libraryMetadataFactory());
    expect(Object.getOwnPropertySymbols(lib.metadataModule.applyOpenApiMetadata).map(String)).toContain('Symbol(junggo.validatorRouteLookup)');
  });
});
