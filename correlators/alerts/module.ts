import type { Kernel, Module } from '../../src/module.ts';
import { bounded, module } from '../../src/module.ts';
import { EventHub } from '../../src/events.ts';
import type { OutageService } from '../outages/service.ts';
import type { Outage, OutageEvent } from '../outages/outage.ts';
import type { Scope } from '../impact/impact.ts';
import { AlertDispatcher } from './dispatcher.ts';
import { WebhookNotifier, MqttNotifier, type Notifier } from './notifier.ts';
import { AlertStream } from './sse.ts';
import { DeliveryLanes } from './lanes.ts';
import { HoldDown } from './hold.ts';
import { Outbox } from './outbox.ts';
import { securityAlertOf, type Alert } from './alert.ts';
import type { MqttConnect } from '../../collectors/mqtt/connect.ts';
import { alertRoutes } from './routes.ts';
import { metric } from '../../src/api/metrics.ts';
import { alertsOf } from './repository.ts';

/**
 * Paging and what goes out to people: the NOC's alerts (webhooks, MQTT, the SSE stream) and the
 * messages to subscribers (the operator's SMS gateway), each through its outbox in the store.
 *
 * A new outage is paged after the hold-down, held on while its parent may yet take it in; its
 * alerts go out in event order, each once its scope is written (or after `scopeWait`: a slow
 * database delays an alert by seconds, never holds it back). At start, an outage opened just
 * before a crash that was never paged is paged.
 */
export function alertsModule(k: Kernel, outages: OutageService, scope: (outageId: string) => Scope | undefined, restored: () => readonly Outage[], connect?: MqttConnect) {
  const { config, log } = k;
  const stream = new AlertStream(new EventHub(1 << 20, config.api?.streamsPerToken ?? 4));
  // The alert stream follows the live events: this member's alerts, or in a cluster the leader's, relayed.
  k.events.hear((e) => { if (e.type === 'alert') stream.publish(e.data as Alert); });
  let alerts: AlertDispatcher | undefined;
  let communications: DeliveryLanes | undefined;
  let alerting = Promise.resolve();
  const page = (e: OutageEvent) => {
    const scoped = k.recorder()?.add(async () => undefined) ?? Promise.resolve();
    alerting = alerting
      .then(() => Promise.race([scoped, new Promise<void>((r) => setTimeout(r, config.outages.scopeWait).unref())]))
      .then(() => alerts?.onOutageEvent(e, scope(e.outage.id)))
      .then(() => undefined, (err) => log.error({ err, outage: e.outage.id }, 'cannot raise alert'));
  };
  const hold = new HoldDown(config.alerts.holdDown, page, (e) => log.info({ outage: e.outage.id, mergedInto: e.outage.mergedInto }, 'outage over within the alert hold-down: not paged'),
    { pending: (e) => e.outage.state === 'open' && outages.awaitingParent(e.outage.root), maxHoldMs: Math.max(config.alerts.holdDown, config.outages.inference.window) });
  outages.onEvent((e) => {
    if (k.recorder()) hold.offer(e);
  });
  // A trap that means `security` (authenticationFailure) is an alert to the NOC, from the member that
  // leads (devices in a cluster send their traps to every member: see the README).
  const raised = new Set<string>();
  k.pipeline.add({
    name: 'security-alerts',
    write: (batch) => {
      if (!alerts) return;
      for (const s of batch) {
        if (s.measurement !== 'snmp_trap' || s.tags.meaning !== 'security') continue;
        const a = securityAlertOf({ element: s.element, trap: s.tags.name, source: s.tags.source, time: s.time }, k.topology());
        if (raised.has(a.id)) continue; // one per element and window: the store would ignore it, but a flood need not reach it
        raised.add(a.id);
        if (raised.size > 10_000) raised.delete(raised.values().next().value!);
        void alerts.raise(a, s.time).catch((err) => {
          raised.delete(a.id); // not stored: the device's next report tries again
          log.error({ err, alert: a.id }, 'cannot raise alert');
        });
      }
    },
  });

  const m: Module = module('alerts', 'leader', async () => {
    const store = k.store();
    const notifiers: Notifier[] = config.alerts.webhooks.map((w) => new WebhookNotifier(w.name, { url: w.url, secret: w.secret, timeoutMs: w.timeout }));
    if (config.alerts.mqtt) notifiers.push(new MqttNotifier({ ...config.alerts.mqtt, ...(connect && { connect }) }));
    const cc = config.complaints;
    const toSubscribers: Notifier[] = cc.notify.webhooks.map((w) => new WebhookNotifier(w.name, { url: w.url, secret: w.secret, timeoutMs: w.timeout, idHeader: 'x-netpulse-message-id' }));
    if (cc.notify.mqtt) toSubscribers.push(new MqttNotifier({ ...cc.notify.mqtt, ...(connect && { connect }) }));
    // In a cluster, nothing goes out from a member whose leadership ran out by its own clock (it was paused): the new leader sends it.
    if (k.leads) for (const list of [notifiers, toSubscribers]) list.splice(0, list.length, ...list.map((n) => onlyWhileLeading(n, k.leads!)));
    communications = new DeliveryLanes(toSubscribers, { what: 'communication', logger: log.child({ component: 'communications' }), outbox: new Outbox('communication', () => store.db) });
    const owedMessages = await communications.restore();
    alerts = new AlertDispatcher(notifiers, { topology: () => k.topology(), store: () => store, stream: { publish: (a) => k.events.publish({ type: 'alert', data: a }) }, logger: log.child({ component: 'alerts' }) });
    const owedAlerts = await alerts.restore();
    // An outage opened just before a crash may have been in the hold-down, never paged: page it now.
    for (const o of restored()) if (o.state === 'open' && (await alertsOf(store).alerts(o.id, 1)).length === 0) page({ type: 'opened', outage: o, at: o.startedAt });
    if (owedAlerts + owedMessages > 0) log.info({ alerts: owedAlerts, messages: owedMessages }, 'delivering what was owed before the restart');
  }, async (deadline) => {
    // What waits in the hold-down is paged now, and handed to the notifiers before they close.
    hold.flush();
    await bounded(alerting, deadline, 'paging', log);
    const share = () => Math.floor(Math.max(0, deadline - Date.now()) * 0.3);
    if (alerts) await bounded(alerts.close(share()), deadline, 'alerts', log);
    if (communications) await bounded(communications.close(share()), deadline, 'communications', log);
    stream.close();
  }, {
    routes: (ctx) => alertRoutes(ctx, { store: k.store(), alertStream: stream }),
    metrics: () => (alerts ? metric('netpulse_alerts_total', 'counter', 'Alerts by outcome.', [[{ outcome: 'raised' }, alerts.stats.raised], [{ outcome: 'delivered' }, alerts.stats.delivered], [{ outcome: 'retried' }, alerts.stats.retries], [{ outcome: 'dropped' }, alerts.stats.dropped]]) : ''),
  });
  return {
    module: m,
    stream,
    dispatcher: () => alerts,
    /** Raises an alert that is not an outage's (a suspicion, a deadline); logged when it cannot be stored. */
    raise: async (a: Alert, at: number): Promise<void> => {
      await alerts?.raise(a, at).catch((err) => log.error({ err, alert: a.id }, 'cannot raise alert'));
    },
    /** Queues a message to a subscriber (TMF681); logged when it cannot be stored. */
    tell: (msg: Parameters<DeliveryLanes['push']>[0]) => void communications?.push(msg).catch((err) => log.error({ err, message: msg.id }, 'cannot queue a subscriber message')),
  };
}

/** A notifier that refuses to send (to be retried, by then from the new leader) once this member does not lead. */
function onlyWhileLeading(n: Notifier, leads: () => boolean): Notifier {
  return {
    name: n.name,
    send: (m) => (leads() ? n.send(m) : Promise.reject(new Error('this member no longer leads the cluster'))),
    close: () => n.close(),
  };
}
