import type { StoredComplaint } from './service.ts';

/** What a state change of a complaint tells its subscriber. */
export interface ComplaintChange {
  complaint: StoredComplaint;
  state: 'accepted' | 'matched' | 'network_restored' | 'resolved';
  at: number;
  /** The outage it was matched to, when there is one. */
  outage?: { id: string; root: string; startedAt: number; clearedAt?: number };
  /** Matched again, to another outage (a degradation that became a loss of service above it). */
  rematched?: true;
}

/** A TM Forum TMF681 CommunicationMessage, for the operator's SMS gateway (which sends it). */
export interface CommunicationMessage {
  id: string;
  '@type': 'CommunicationMessage';
  messageType: 'SMS';
  state: 'initial';
  subject: string;
  content: string;
  receiver: { id: string; '@referredType': 'Subscriber' }[];
  characteristic: { name: string; value: string }[];
  /** When the change happened. */
  scheduledSendTime: string;
}

const iso = (ms: number) => new Date(ms).toISOString();
const hhmm = (ms: number) => iso(ms).slice(11, 16) + ' UTC';

/**
 * The message for a complaint's state change; `restorationTargetMs` after an outage's start is
 * told as the expected restoration. The id is stable per complaint and state (and outage, for a
 * complaint matched again to another one): a retried or replayed change is the same message,
 * which the gateway can drop.
 */
export function communicationOf(ch: ComplaintChange, restorationTargetMs: number): CommunicationMessage {
  const c = ch.complaint;
  const o = ch.outage;
  const content = {
    accepted: `We have received your complaint ${c.id}. We will respond by ${iso(c.respondBy).slice(0, 16).replace('T', ' ')} UTC.`,
    matched: o
      ? `Your complaint ${c.id}: a network fault near you since ${hhmm(o.startedAt)} affects your service. Our engineers are on it; expected restoration by ${iso(o.startedAt + restorationTargetMs).slice(0, 16).replace('T', ' ')} UTC.`
      : `Your complaint ${c.id} is linked to a known network fault. Our engineers are on it.`,
    network_restored: `Your complaint ${c.id}: the network fault was repaired at ${hhmm(o?.clearedAt ?? ch.at)}. If your service is still not right, reply to this message.`,
    resolved: `Your complaint ${c.id} is resolved${c.resolution ? `: ${c.resolution}` : ''}. Thank you for your patience.`,
  }[ch.state];
  return {
    id: `complaint:${c.id}#${ch.state}${ch.rematched && o ? `@${o.id}` : ''}`,
    '@type': 'CommunicationMessage',
    messageType: 'SMS',
    state: 'initial',
    subject: `Complaint ${c.id}`,
    content,
    receiver: [{ id: c.subscriberId, '@referredType': 'Subscriber' }],
    characteristic: [
      { name: 'complaintId', value: c.id }, { name: 'complaintState', value: ch.state }, { name: 'grade', value: c.grade },
      ...(o ? [{ name: 'outageId', value: o.id }] : []),
      ...(ch.state === 'matched' && o ? [{ name: 'expectedRestorationTime', value: iso(o.startedAt + restorationTargetMs) }] : []),
    ],
    scheduledSendTime: iso(ch.at),
  };
}
