import type { Kernel, Module } from '../../src/module.ts';
import { module } from '../../src/module.ts';
import type { OutageService } from '../outages/service.ts';
import type { Alert } from '../alerts/alert.ts';
import { suspicionAlertOf, deadlineAlertOf } from '../alerts/alert.ts';
import type { CommunicationMessage } from './communication.ts';
import { communicationOf } from './communication.ts';
import { ComplaintService, type ComplaintOptions } from './service.ts';
import { ComplaintMqttIntake } from './mqtt.ts';
import type { MqttConnect } from '../../collectors/mqtt/connect.ts';
import { complaintRoutes } from './routes.ts';
import { PollSchedule } from '../../src/schedule.ts';
import { metric } from '../../src/api/metrics.ts';
import type { Grade } from './complaint.ts';
import type { Deadlines } from './grade.ts';
import type { Config } from '../../src/config/schema.ts';

/** The complaint rules from config: matching window, grade rules and deadlines, suspicion thresholds. */
export function complaintOptions(config: Config): Partial<ComplaintOptions> {
  const cc = config.complaints;
  return {
    match: { graceBeforeMs: cc.graceBefore, graceAfterMs: cc.graceAfter, minConfidence: cc.minConfidence },
    deadlines: Object.fromEntries(Object.entries(cc.deadlines).map(([g, d]) => [g, { respondMs: d.respond, resolveMs: d.resolve }])) as Record<Grade, Deadlines>,
    ...(cc.gradeRules && { rules: cc.gradeRules }),
    suspect: { windowMs: cc.suspect.window, minComplaints: cc.suspect.minComplaints, usualPerWindow: cc.suspect.usualPerWindow, maxProbability: cc.suspect.maxProbability },
  };
}

/**
 * Complaints: matched again on every outage event (after its scope is written); each change told
 * to the subscriber and on the live stream; a suspected outage paged to the NOC. Every minute,
 * deadlines about to be missed are alerted (each once) and stale suspicions expire. With
 * `complaints.mqtt`, complaints also come in over MQTT.
 */
export function complaintsModule(k: Kernel, outages: OutageService, out: { raise(a: Alert, at: number): Promise<void>; tell(m: CommunicationMessage): void }, connect?: MqttConnect) {
  const { config, log } = k;
  const cc = config.complaints;
  const complaints = new ComplaintService({ health: (id) => outages.health.get(id), topology: () => k.topology() }, complaintOptions(config));
  complaints.onChange((ch) => {
    k.events.publish({ type: 'complaint', data: { complaint: ch.complaint.id, state: ch.state, ...(ch.outage && { outage: ch.outage.id }) } });
    out.tell(communicationOf(ch, cc.restorationTarget));
  });
  complaints.onSuspicion((s) => {
    log.warn({ element: s.element, subscribers: s.subscribers, complaints: s.complaints.slice(0, 20), probability: s.probability }, 'suspected outage from complaints');
    void out.raise(suspicionAlertOf(s, k.topology(), complaints.windowMinutes), s.at);
  });
  outages.onEvent((e) => void k.recorder()?.add((s) => complaints.onOutageEvent(s, e)));

  let intake: ComplaintMqttIntake | undefined;
  const schedule = new PollSchedule(1, (_key, err) => log.error({ err }, 'complaint deadline check failed'));
  const m: Module = module('complaints', 'leader', async () => {
    const store = k.store();
    await complaints.restore(store);
    const check = async () => {
      const now = k.clock.now();
      for (const w of await complaints.dueSoon(store, now, cc.warnBefore)) await out.raise(deadlineAlertOf(w, now), now);
      for (const s of await complaints.expire(store, now, cc.suspect.expireAfter)) log.info({ suspected: s.id, element: s.element }, 'suspected outage expired unconfirmed');
    };
    schedule.start([{ key: 'complaint-deadlines', intervalMs: 60_000, firstRunMs: 60_000, run: check }]);
    if (cc.mqtt) {
      intake = new ComplaintMqttIntake({
        config: cc.mqtt, complaints, store: () => store, logger: log.child({ component: 'complaints', intake: 'mqtt' }), ...(connect && { connect }),
        times: { aheadMs: config.times.maxAhead, pastMs: config.times.maxComplaintAge },
      });
      intake.start();
    }
  }, async () => {
    await intake?.stop();
    await schedule.stop();
  }, {
    metrics: () => (intake ? metric('netpulse_complaint_messages_total', 'counter', 'Complaints over MQTT by outcome.', [[{ outcome: 'stored' }, intake.stats.stored], [{ outcome: 'duplicate' }, intake.stats.duplicates], [{ outcome: 'rejected' }, intake.stats.rejected]]) : ''),
    routes: (ctx) => complaintRoutes(ctx, { store: k.store(), complaints, times: { aheadMs: config.times.maxAhead, complaintPastMs: config.times.maxComplaintAge } }),
  });
  return { module: m, complaints, intake: () => intake };
}
