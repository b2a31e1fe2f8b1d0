import { readFileSync } from 'node:fs';
import path from 'node:path';

const generatedDir = path.resolve(__dirname, '..', '..', '..', 'generated');
const read = (file: string) => readFileSync(path.join(generatedDir, file));

export interface OpenApiOperation {
  operationId?: string;
  parameters?: { name: string; in: string; $ref?: string; schema?: { type?: string | string[] } }[];
  security?: Record<string, string[]>[];
  requestBody?: { content?: Record<string, unknown> };
}
export interface OpenApiDocument {
  servers?: { url: string }[];
  security?: Record<string, string[]>[];
  paths: Record<string, Record<string, OpenApiOperation | unknown>>;
  components?: { parameters?: Record<string, { name: string; in: string; schema?: { type?: string | string[] } }> };
}

/** The bundled description (what the validator enforces) and the public artefacts served as they are. */
export interface SpecArtefacts {
  document: OpenApiDocument;
  publicJson: Buffer;
  publicYaml: Buffer;
  docsHtml: Buffer;
}

export function loadSpec(): SpecArtefacts {
  return {
    document: JSON.parse(read('openapi.json').toString('utf8')) as OpenApiDocument,
    publicJson: read('openapi.public.json'),
    publicYaml: read('openapi.public.yaml'),
    docsHtml: read(path.join('docs', 'index.html')),
  };
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** Every operation under the description's base path, with the names of its header parameters. */
export function listOperations(doc: OpenApiDocument) {
  const resolve = (p: NonNullable<OpenApiOperation['parameters']>[number]) =>
    p.$ref ? doc.components?.parameters?.[p.$ref.split('/').pop()!] ?? p : p;
  const ops: { method: (typeof HTTP_METHODS)[number]; path: string; operationId: string; headerParams: string[]; queryParams: string[]; integerQueryParams: string[]; secured: boolean; multipart: boolean }[] = [];
  for (const [route, item] of Object.entries(doc.paths)) {
    const shared = ((item as { parameters?: OpenApiOperation['parameters'] }).parameters ?? []).map(resolve);
    for (const method of HTTP_METHODS) {
      const op = item[method] as OpenApiOperation | undefined;
      if (!op?.operationId) continue;
      const params = [...shared, ...(op.parameters ?? []).map(resolve)];
      const security = op.security ?? doc.security ?? [];
      ops.push({
        method,
        path: route,
        operationId: op.operationId,
        headerParams: params.filter((p) => p.in === 'header').map((p) => p.name),
        queryParams: params.filter((p) => p.in === 'query').map((p) => p.name),
        integerQueryParams: params.filter((p) => p.in === 'query' && [p.schema?.type].flat().includes('integer')).map((p) => p.name),
        // Secured when no alternative in the requirement list is the empty (anonymous) one.
        secured: security.length > 0 && security.every((req) => Object.keys(req).length > 0),
        // Its body is streamed by the handler (multipart.ts), not parsed before it.
        multipart: op.requestBody?.content?.['multipart/form-data'] !== undefined,
      });
    }
  }
  return ops;
}
