import { z } from 'zod';
import type { Role } from '../../src/api/auth.ts';
import { ApiError, type RouteContext } from '../../src/api/http.ts';
import { errors, ok } from '../../src/api/openapi.ts';
import { PolicyError } from '../compensation/policies.ts';
import { PeriodError, periodOf } from './period.ts';
import { FORMATS, render, WhatIfBusy, type PolicyChoice, type ReportService } from './service.ts';
import type { Policy } from '../compensation/policy.ts';

/** Who reads reports: managers (nothing else), the NOC and its wall screen, compensation, admins. */
export const REPORT_READERS: Role[] = ['manager', 'noc', 'dashboard', 'compensation'];
/** Who may run a what-if (it writes nothing, but it is work): managers and compensation. */
export const WHAT_IF: Role[] = ['manager', 'compensation'];
/** A draft policy is a page of YAML: far below the API's general body limit. */
export const DRAFT_LIMIT = 64 * 1024;

const when = z.union([z.string().max(40), z.number()]);
const policyName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a policy name: lower-case letters, digits and -').max(100);
const period = {
  from: when.optional().describe('start (ISO-8601 or ms); with to, or alone for 30 days'),
  to: when.optional().describe('end, exclusive'),
  month: z.string().max(7).optional().describe('a calendar month, YYYY-MM (UTC); default: last month'),
};
const reportQuery = z.strictObject({
  ...period,
  format: z.enum(FORMATS).default('json').describe('json, csv (one figure a row) or html (prints to PDF)'),
  whatIf: policyName.optional().describe('add a what-if under this shipped policy'),
});
const whatIfBody = z.strictObject({
  ...period,
  policy: policyName.optional().describe('a shipped policy by name'),
  draft: z.union([z.string().min(1).max(DRAFT_LIMIT), z.record(z.string(), z.unknown())]).optional().describe('a draft policy: YAML or JSON text, or the object (the format of config/policies/*.yaml)'),
}).refine((b) => !(b.policy !== undefined && b.draft !== undefined), { message: 'give policy or draft, not both', path: ['draft'] });

/**
 * `GET /v1/reports/service`: the service report for a period as JSON, CSV or HTML.
 * `POST /v1/reports/what-if`: the period's outages settled again under another policy, compared
 * with the ledger; nothing is written.
 */
export function reportRoutes({ route, now }: RouteContext, d: { service: ReportService; maxPeriod: number }): void {
  const periodFrom = (q: { from?: string | number; to?: string | number; month?: string }) => {
    try {
      return periodOf(q, now(), d.maxPeriod);
    } catch (err) {
      if (err instanceof PeriodError) throw new ApiError(400, 'bad_request', err.message, err.field);
      throw err;
    }
  };
  const policiesOf = (c: PolicyChoice, field: string): Policy[] => {
    try {
      return d.service.policiesOf(c);
    } catch (err) {
      if (err instanceof PolicyError) throw new ApiError(400, 'bad_policy', `${field}: ${err.problems.join('; ')}`, field);
      throw new ApiError(400, 'bad_request', `${field}: ${(err as Error).message}`, field);
    }
  };
  const runWhatIf = async (from: number, to: number, policies: readonly Policy[]) => {
    try {
      return await d.service.whatIf(from, to, policies);
    } catch (err) {
      if (err instanceof WhatIfBusy) throw new ApiError(409, 'busy', err.message);
      throw err;
    }
  };

  route({
    method: 'GET', url: '/v1/reports/service', roles: REPORT_READERS, query: reportQuery,
    summary: 'The service report for a period: availability, outages and recovery, subscriber minutes lost, complaints, suspected outages, compensation',
    description: 'Every line lists the API ids it counts (trace). format=csv is one figure a row; format=html is a page with SVG charts that prints to PDF.',
    responses: {
      200: { description: 'The report', content: { 'application/json': { schema: { type: 'object' } }, 'text/csv': { schema: { type: 'string' } }, 'text/html': { schema: { type: 'string' } } } },
      ...errors, 409: { description: 'A what-if is already running', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    },
  }, async (_req, reply, input) => {
    const q = input.query();
    const p = periodFrom(q);
    const w = q.whatIf === undefined ? undefined : await runWhatIf(p.from, p.to, policiesOf({ policy: q.whatIf }, 'whatIf'));
    const out = render(await d.service.report(p.from, p.to), q.format, w);
    const name = `service-report-${new Date(p.from).toISOString().slice(0, 10)}-${new Date(p.to).toISOString().slice(0, 10)}.${q.format}`;
    return reply.type(out.type).header('content-disposition', `${q.format === 'csv' ? 'attachment' : 'inline'}; filename="${name}"`).send(out.body);
  });

  route({
    method: 'POST', url: '/v1/reports/what-if', roles: WHAT_IF, body: whatIfBody, bodyLimit: DRAFT_LIMIT * 2, readsOnly: true,
    summary: "The period's outages settled again under another policy (a shipped one, a draft, or the one in force), compared with what the ledger issued; writes nothing",
    description: 'Cost, credited subscribers and the distribution of amounts by tier, both sides. Under the policy in force it equals the ledger. One at a time (409 while one runs).',
    responses: { ...ok('The comparison'), 409: { description: 'A what-if is already running', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } },
  }, async (_req, _reply, input) => {
    const b = input.body();
    const p = periodFrom(b);
    const policies = policiesOf({ ...(b.policy !== undefined && { policy: b.policy }), ...(b.draft !== undefined && { draft: b.draft }) }, b.draft !== undefined ? 'draft' : 'policy');
    return runWhatIf(p.from, p.to, policies);
  });
}
