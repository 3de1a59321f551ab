import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import SwaggerParser from '@apidevtools/swagger-parser';
import { z } from 'zod';
import { injectedApi } from '../helpers/api.ts';
import { registeredRoutes } from '../../src/api/app.ts';
import { openApiPath, type RouteSpec } from '../../src/api/route.ts';
import type { RouteContext } from '../../src/api/http.ts';
import { ROLES, type Role } from '../../src/api/auth.ts';

type Spec = RouteSpec<z.ZodType | undefined, z.ZodType | undefined>;
type Doc = { paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, object> } };
type Op = { summary?: string; parameters?: { name: string; in: string; required?: boolean; schema: object }[]; requestBody?: any; responses: Record<string, any>; security?: unknown[]; 'x-roles'?: Role[] };

/** Routes the document leaves out on purpose: itself, and the dashboard's files. */
const UNDOCUMENTED = new Set(['/openapi.json', '/', '/ui', '/ui/*']);
/** Every type name JSON Schema knows: a misspelt one is a schema no client can use. */
const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']);

describe('the OpenAPI document', () => {
  const specs: Spec[] = [];
  let api: Awaited<ReturnType<typeof injectedApi>>;
  let doc: Doc;
  const operations = () => Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));

  beforeAll(async () => {
    // Every module's routes, compensation's too; each spec recorded as it is registered.
    const spy = (ctx: RouteContext): RouteContext => ({ ...ctx, route: ((spec: Spec, handler: never) => { specs.push(spec); ctx.route(spec, handler); }) as RouteContext['route'] });
    api = await injectedApi({
      topology: 'elements:\n  - { id: CORE-1, kind: core, site: dc1, region: north }\n',
      callers: Object.fromEntries(ROLES.map((r) => [r, [r]])), api: { authFailures: 10_000 }, spy,
    });
    const r = await api.call(undefined, 'GET', '/openapi.json');
    expect(r.status).toBe(200);
    doc = r.body as Doc;
  });
  afterAll(() => api?.stop());

  it('is valid OpenAPI 3.1 and every $ref resolves', async () => {
    expect((doc as unknown as { openapi: string }).openapi).toBe('3.1.0');
    await SwaggerParser.validate(structuredClone(doc) as never); // throws naming what is wrong
  });

  it('describes every route the API answers, and no route it does not', () => {
    const routes = registeredRoutes(api.app);
    const gets = new Set(routes.filter((r) => r.method === 'GET').map((r) => r.url));
    const answered = routes
      .filter((r) => !UNDOCUMENTED.has(r.url) && !(r.method === 'HEAD' && gets.has(r.url))) // HEAD comes with every GET
      .map((r) => `${r.method} ${openApiPath(r.url)}`);
    const documented = operations().map((o) => `${o.method.toUpperCase()} ${o.path}`);
    expect(answered.length).toBeGreaterThan(30);
    expect([...documented].sort()).toEqual([...answered].sort());
  });

  it('names every path parameter once, required, and gives every operation a summary and responses', () => {
    for (const { path, method, op } of operations()) {
      const where = `${method} ${path}`;
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const params = op.parameters ?? [];
      expect(params.filter((p) => p.in === 'path').map((p) => p.name), where).toEqual(inPath);
      expect(params.filter((p) => p.in === 'path').every((p) => p.required), where).toBe(true);
      expect(new Set(params.map((p) => `${p.in}:${p.name.toLowerCase()}`)).size, where).toBe(params.length);
      expect(op.summary, where).toBeTruthy();
      expect(Object.keys(op.responses).length, where).toBeGreaterThan(0);
      // Guarded routes say who may call them; open ones need no token.
      if (op['x-roles']) expect(op.security, where).toBeUndefined();
      else expect(op.security, where).toEqual([]);
    }
  });

  it('writes every schema in it with known type names', () => {
    const walk = (v: unknown, at: string): void => {
      if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${at}[${i}]`));
      if (v === null || typeof v !== 'object') return;
      const o = v as Record<string, unknown>;
      if (typeof o.type === 'string' || Array.isArray(o.type)) for (const t of [o.type].flat()) expect(TYPES.has(t as string), `${at}.type: ${String(t)}`).toBe(true);
      // Values, not schemas: what an enum or a default holds is data.
      for (const [k, x] of Object.entries(o)) if (!['enum', 'default', 'const', 'examples'].includes(k)) walk(x, `${at}.${k}`);
    };
    walk(doc.paths, 'paths');
    walk(doc.components.schemas, 'components.schemas');
  });

  it("documents each route's query parameters and body fields as exactly the keys of the schemas it parses with", () => {
    const keys = (s: z.ZodType, where: string) => {
      expect(s, where).toBeInstanceOf(z.ZodObject);
      return (s as z.ZodObject).shape as Record<string, z.ZodType>;
    };
    const withSchemas = specs.filter((s) => s.query || s.body);
    expect(withSchemas.length).toBeGreaterThan(15);
    for (const spec of withSchemas) {
      const where = `${spec.method} ${spec.url}`;
      const op = doc.paths[openApiPath(spec.url)]?.[spec.method.toLowerCase()];
      expect(op, where).toBeDefined();
      if (spec.query) {
        const shape = keys(spec.query, where);
        const query = (op.parameters ?? []).filter((p) => p.in === 'query');
        expect(query.map((p) => p.name).sort(), where).toEqual(Object.keys(shape).sort());
        // Required exactly when leaving it out is refused.
        for (const p of query) expect(p.required ?? false, `${where} ${p.name}`).toBe(!shape[p.name].safeParse(undefined).success);
      }
      if (spec.body) {
        const shape = keys(spec.body, where);
        const schema = op.requestBody?.content?.['application/json']?.schema;
        expect(Object.keys(schema?.properties ?? {}).sort(), where).toEqual(Object.keys(shape).sort());
        expect([...(schema.required ?? [])].sort(), where).toEqual(Object.keys(shape).filter((k) => !shape[k].safeParse(undefined).success).sort());
      }
    }
  });

  it('lets through exactly the roles an operation names: 401 without a token, 403 for another role', async () => {
    for (const { path, method, op } of operations()) {
      const roles = op['x-roles'];
      if (!roles) continue;
      const url = path.replace(/\{\w+\}/g, 'nope');
      // A stream is probed with HEAD: the guard is the same, and no stream is held.
      const m = (op.responses[200]?.content?.['text/event-stream'] ? 'HEAD' : method.toUpperCase()) as 'GET' | 'HEAD';
      const where = `${m} ${path}`;
      const none = await api.call(undefined, m, url);
      expect(none.status, where).toBe(401);
      // A dashboard may GET what noc may: no other role gets in that way.
      const other = (['noc', 'maintenance', 'complaints', 'compensation'] as const).find((r) => !roles.includes(r));
      if (other) {
        const refused = await api.call(other, m, url);
        expect(refused.status, `${where} as ${other}`).toBe(403);
        if (m !== 'HEAD') expect(refused.body, `${where} as ${other}`).toMatchObject({ error: { code: 'forbidden', message: `this needs one of the roles ${roles.join(', ')}` } });
      }
      for (const role of roles) expect([401, 403], `${where} as ${role}`).not.toContain((await api.call(role, m, url)).status);
    }
  });
});
