import { z } from 'zod';
import type { Store } from '../../src/store/store.ts';
import type { StoredOutage } from '../outages/repository.ts';
import type { ImpactSpan } from './spans-repository.ts';
import type { Topology } from '../../src/topology/topology.ts';
import type { ElementHealth } from '../health/tracker.ts';
import { TIERS } from '../subscribers/parse.ts';
import { ApiError, iso, decodeCursor, type RouteContext } from '../../src/api/http.ts';
import { ok, page, ref } from '../../src/api/openapi.ts';
import { inventoryOf } from '../subscribers/inventory-repository.ts';
import { outagesOf } from '../outages/repository.ts';
import { spansOf } from './spans-repository.ts';

export interface ImpactRouteDeps {
  store: Store;
  topology: () => Topology;
  health: (element: string) => ElementHealth | undefined;
  /** Whether the NOC has an outage in hand: who acknowledged its alerts last, and when. */
  acknowledgement: (outageId: string) => Promise<{ by: string; at: number } | undefined>;
}

const impactQuery = z.strictObject({
  tier: z.enum(TIERS).optional().describe('only this tier'),
  kind: z.enum(['no_service', 'degraded']).optional().describe('only this impact'),
  current: z.enum(['true', 'false']).transform((v) => v === 'true').optional().describe('only impacts still open'),
  limit: z.coerce.number().int().min(1).max(5000).default(1000).describe('page size (1000)'),
  cursor: z.string().regex(/^[A-Za-z0-9_-]+$/, 'not a cursor from a previous page').optional().describe('nextCursor of the previous page'),
});
const subscriberQuery = z.strictObject({ days: z.coerce.number().int().min(1).max(400).default(30).describe('how far back recent impacts go (30)') });

const encodeImpactCursor = (i: ImpactSpan) => Buffer.from(`${i.since}|${i.subscriberId}`).toString('base64url');
function decodeImpactCursor(c: string): { subscriberId: string; since: number } {
  const { startedAt, id } = decodeCursor(c);
  return { subscriberId: id, since: startedAt };
}

const spanView = (i: ImpactSpan) => ({
  subscriberId: i.subscriberId, tier: i.tier, service: i.service, region: i.region, kind: i.kind, since: iso(i.since), until: iso(i.until) ?? null,
});

/** Who an outage hits (`/v1/outages/:id/subscribers`) and whether a subscriber is hit (`/v1/subscribers/:id`). */
export function impactRoutes({ route, now, roles }: RouteContext, d: ImpactRouteDeps): void {
  const { READ } = roles;
  route({
    method: 'GET', url: '/v1/outages/:id/subscribers', roles: READ, query: impactQuery,
    summary: 'The subscribers an outage hits or hit, by subscriber id, cursor-paged', responses: ok('A page of impacts', page(ref('Impact'))),
  }, async (req, _reply, input) => {
    const { id } = req.params as { id: string };
    const q = input.query();
    if (!(await outagesOf(d.store).outage(id, { impacted: false }))) throw new ApiError(404, 'not_found', `no outage ${id}`);
    const page = await spansOf(d.store).outageImpacts(id, { tier: q.tier, kind: q.kind, current: q.current, limit: q.limit + 1, after: q.cursor ? decodeImpactCursor(q.cursor) : undefined });
    const items = page.slice(0, q.limit);
    return { items: items.map(spanView), nextCursor: page.length > q.limit ? encodeImpactCursor(items.at(-1)!) : null };
  });

  route({
    method: 'GET', url: '/v1/subscribers/:id', leader: true, roles: READ, query: subscriberQuery,
    summary: 'Is this subscriber affected? Current impacts with their outage (root cause, since, NOC acknowledgement) and recent ones',
    responses: ok('The subscriber and their impacts', { type: 'object', properties: {
      subscriber: { type: 'object' }, affected: { type: 'boolean' }, worst: { enum: ['no_service', 'degraded', null] }, impacts: { type: 'array', items: { type: 'object' } }, recent: { type: 'array', items: { type: 'object' } } } }),
  }, async (req, _reply, input) => {
    const { id } = req.params as { id: string };
    const q = input.query();
    const s = await inventoryOf(d.store).subscriber(id);
    if (!s) throw new ApiError(404, 'not_found', `no subscriber ${id}`);
    const spans = await spansOf(d.store).subscriberImpacts(id, now() - q.days * 86_400_000);
    const topology = d.topology();
    const outages = new Map<string, StoredOutage | undefined>();
    for (const sp of spans) if (!outages.has(sp.outageId)) outages.set(sp.outageId, await outagesOf(d.store).outage(sp.outageId, { impacted: false }));
    const current = spans.filter((sp) => sp.until === undefined);
    const impacts = [];
    for (const sp of current) {
      const o = outages.get(sp.outageId);
      const ack = await d.acknowledgement(sp.outageId);
      impacts.push({
        kind: sp.kind, since: iso(sp.since),
        outage: o && {
          id: o.id, state: o.state, severity: o.severity, planned: o.planned, startedAt: iso(o.startedAt),
          rootCause: { id: o.root, kind: topology.elements.get(o.root)?.kind, site: topology.elements.get(o.root)?.site, reason: o.reason },
          affectedSubscribers: o.scope?.current ?? null,
          acknowledged: ack ? { by: ack.by, at: iso(ack.at) } : null,
        },
      });
    }
    return {
      subscriber: {
        id: s.id, tier: s.tier, service: s.service, region: s.region, plan: s.plan, arpu: s.arpuMinor === undefined ? undefined : s.arpuMinor / 100,
        servingElements: s.serving.map((e) => {
          const h = d.health(e);
          return { id: e, kind: topology.elements.get(e)?.kind, site: topology.elements.get(e)?.site, health: h ? { state: h.state, since: iso(h.since) } : { state: 'unknown', since: null } };
        }),
      },
      affected: current.length > 0,
      worst: current.some((sp) => sp.kind === 'no_service') ? 'no_service' : current.length > 0 ? 'degraded' : null,
      impacts,
      recent: spans.filter((sp) => sp.until !== undefined).map((sp) => ({
        outageId: sp.outageId, kind: sp.kind, since: iso(sp.since), until: iso(sp.until), root: outages.get(sp.outageId)?.root,
      })),
    };
  });
}
