import type { CommunicationMessage } from '../complaints/communication.ts';
import type { Credit } from './credits.ts';

const day = (ms: number | undefined) => (ms === undefined ? '' : new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC');

/** What the credit gives, in words: "EUR 4.50 on your bill", "5120 MB of data". */
export function creditWords(c: Pick<Credit, 'form' | 'quantity' | 'amountMinor' | 'currency'>): string {
  switch (c.form) {
    case 'data_pack': return `${c.quantity} MB of data`;
    case 'free_minutes': return `${c.quantity} free minutes`;
    case 'service_days': return `${c.quantity} extra day(s) of service`;
    default: return `${c.currency} ${(c.amountMinor / 100).toFixed(2)} on your bill`;
  }
}

/**
 * The message that tells a subscriber what was credited, once the compensation job applied it
 * (TMF681, through the same gateway as complaint messages). Its id is the credit's: a repeat is
 * the same message. Corrections down are not announced.
 */
export function creditMessageOf(c: Credit): CommunicationMessage | undefined {
  if (c.amountMinor <= 0) return undefined;
  return {
    id: `credit:${c.id}`,
    '@type': 'CommunicationMessage',
    messageType: 'SMS',
    state: 'initial',
    subject: 'Compensation for a network fault',
    content: `We are sorry for the network fault that affected your service from ${day(c.impactFrom)} to ${day(c.impactTo)}. `
      + `${c.kind === 'correction' ? 'An additional' : 'A'} compensation of ${creditWords(c)} has been applied to your account, automatically.`,
    receiver: [{ id: c.subscriberId, '@referredType': 'Subscriber' }],
    characteristic: [
      { name: 'creditId', value: c.id }, { name: 'outageId', value: c.outageId }, { name: 'policy', value: `${c.policy}@${c.policyVersion}` },
      { name: 'form', value: c.form }, { name: 'quantity', value: String(c.quantity) }, { name: 'unit', value: c.unit },
    ],
    scheduledSendTime: new Date(c.appliedAt ?? c.computedAt).toISOString(),
  };
}
