import { z } from 'zod';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from './auth.ts';
import { parse, ROLE_SETS, type RouteContext } from './http.ts';
import type { forwardToLeader } from './forward.ts';

/**
 * A route as it describes itself where it is registered: what `/openapi.json` says of it. Its
 * query parameters and JSON body are generated from the zod schemas its handler parses with
 * (`input.query()`, `input.body()`), so the document cannot say something the route does not do.
 */
export interface RouteSpec<Q extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** In fastify's syntax (`/v1/outages/:id`); each `:name` is a required path parameter. */
  url: string;
  summary: string;
  description?: string;
  /** Who may call it, checked when the request arrives, before its body is read; none: open, no token. */
  roles?: readonly Role[];
  /** The query; its keys are the documented query parameters. */
  query?: Q;
  /** The JSON body; documented as the request body. */
  body?: B;
  /** What a path parameter is, when its name does not say. */
  params?: Record<string, string>;
  /** Headers the handler reads itself, as OpenAPI parameter objects. */
  headers?: readonly { name: string; required?: boolean; description?: string; schema: object }[];
  /** A body the handler reads itself (a stream, not JSON): the OpenAPI request body as written. */
  requestBody?: object;
  /** By status code, as OpenAPI response objects (`ok` and `errors` in openapi.ts). */
  responses: Record<number, object>;
  /** A POST that writes nothing (a computation over the store, such as the policy what-if): in a cluster, answered by the member it reaches, not passed to the leader. */
  readsOnly?: boolean;
  /** The largest body this route takes, in bytes, when less than `api.bodyLimit` (413 past it). */
  bodyLimit?: number;
  /** In a cluster, a read of the leader's live state (element health): another member passes it to the leader. Writes always go there. */
  leader?: boolean;
}

type Output<S> = S extends z.ZodType ? z.output<S> : never;

/**
 * The route's input, parsed with its own schemas when the handler asks (so the handler chooses
 * what it checks first: a 404 before a bad query, say); the first problem is a 400 naming the field.
 */
export interface RouteInput<Q, B> {
  query(): Q;
  body(): B;
}

export type RouteHandler<Q extends z.ZodType | undefined, B extends z.ZodType | undefined> =
  (req: FastifyRequest, reply: FastifyReply, input: RouteInput<Output<Q>, Output<B>>) => Promise<unknown>;

/** One documented operation: its OpenAPI path and method, and the operation object. */
export interface Operation {
  path: string;
  method: string;
  operation: Record<string, unknown>;
}

/**
 * A RouteContext over `app`: `route` registers each route (with the guard when it names roles)
 * and records its operation in `operations`, in the order they were registered.
 */
export function routeContext(app: FastifyInstance, o: Pick<RouteContext, 'guard' | 'now'> & Partial<Pick<RouteContext, 'refuse'>> & { forward?: ReturnType<typeof forwardToLeader> }): { ctx: RouteContext; operations: readonly Operation[] } {
  const operations: Operation[] = [];
  const ctx: RouteContext = {
    app, guard: o.guard, now: o.now, refuse: o.refuse ?? (() => {}), roles: ROLE_SETS,
    route(spec, handler) {
      operations.push(operationOf(spec)); // first: a schema that cannot be described fails here, at build time
      // In a cluster, writes and reads of the leader's memory go to the leader, once this member's guard let them through.
      const forwarded = o.forward && ((spec.method !== 'GET' && !spec.readsOnly) || spec.leader) ? [o.forward] : [];
      const onRequest = [...(spec.roles ? [o.guard(spec.roles)] : []), ...forwarded];
      app.route({
        method: spec.method, url: spec.url, ...(onRequest.length > 0 && { onRequest }), ...(spec.bodyLimit !== undefined && { bodyLimit: spec.bodyLimit }),
        handler: (req, reply) => handler(req, reply, {
          query: () => parse(declared(spec.query, spec, 'query'), req.query, 'query') as never,
          body: () => parse(declared(spec.body, spec, 'body'), req.body, 'body') as never,
        }),
      });
    },
  };
  return { ctx, operations };
}

/** A handler reads only the input its route declares (and so documents). */
function declared(schema: z.ZodType | undefined, spec: { method: string; url: string }, what: string): z.ZodType {
  if (!schema) throw new Error(`${spec.method} ${spec.url} reads a ${what} it does not declare`);
  return schema;
}

/** The JSON Schema of what a client sends (a transform's input, a default's optional field); refinements are not described. */
export function inputSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return rest;
}

/** `/v1/outages/:id` as OpenAPI writes it, `/v1/outages/{id}`. */
export const openApiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

/** The OpenAPI operation a route spec describes: path parameters from its URL, query parameters and body from its schemas. */
export function operationOf(spec: RouteSpec<z.ZodType | undefined, z.ZodType | undefined>): Operation {
  const path = [...spec.url.matchAll(/:(\w+)/g)].map(([, name]) => ({
    name, in: 'path', required: true, ...(spec.params?.[name] && { description: spec.params[name] }), schema: { type: 'string' },
  }));
  const parameters = [...path, ...(spec.query ? queryParameters(spec.query) : []), ...(spec.headers ?? []).map((h) => ({ in: 'header', ...h }))];
  const requestBody = spec.body ? { required: true, content: { 'application/json': { schema: inputSchema(spec.body) } } } : spec.requestBody;
  return {
    path: openApiPath(spec.url), method: spec.method.toLowerCase(),
    operation: {
      summary: spec.summary, ...(spec.description && { description: spec.description }),
      ...(parameters.length > 0 && { parameters }), ...(requestBody && { requestBody }),
      // Open routes need no token; the others say which roles may call them (admin may call any).
      ...(spec.roles ? { 'x-roles': spec.roles } : { security: [] }),
      responses: spec.responses,
    },
  };
}

/** A query schema's keys as OpenAPI query parameters, each with its description lifted from its schema. */
function queryParameters(schema: z.ZodType): object[] {
  const s = inputSchema(schema) as { type?: string; properties?: Record<string, Record<string, unknown>>; required?: string[] };
  if (s.type !== 'object' || !s.properties) throw new Error('a query schema is an object of parameters');
  return Object.entries(s.properties).map(([name, { description, ...property }]) => ({
    name, in: 'query', ...(s.required?.includes(name) && { required: true }), ...(description !== undefined && { description }), schema: property,
  }));
}
