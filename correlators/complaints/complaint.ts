import type { ImpactKind } from '../impact/impact.ts';

export const CHANNELS = ['hotline', 'app', 'web', 'store'] as const;
export const CATEGORIES = ['no_service', 'weak_signal', 'slow_data', 'call_drop', 'broadband_down', 'wifi', 'billing', 'service_attitude', 'other'] as const;
export const GRADES = ['general', 'major', 'urgent'] as const;

export type Channel = (typeof CHANNELS)[number];
export type Category = (typeof CATEGORIES)[number];
export type Grade = (typeof GRADES)[number];

/** A complaint as a complaint system sends it. */
export interface Complaint {
  /** The complaint system's own id: the same id sent twice is one complaint. */
  id: string;
  subscriberId: string;
  channel: Channel;
  category: Category;
  text?: string;
  reportedAt: number;
  /** Where the customer says it happens, when they know. */
  cell?: string;
  location?: { lat: number; lon: number };
  /** Escalated by the customer (to a supervisor, the regulator). */
  escalations?: number;
}

/**
 * How well a complaint category fits an impact kind: the confidence a match starts from, or
 * nothing when it never fits (billing is never a network fault; home Wi-Fi is not a degradation).
 */
export const FIT: Record<Category, Partial<Record<ImpactKind, number>>> = {
  no_service: { no_service: 0.97, degraded: 0.6 },
  broadband_down: { no_service: 0.97, degraded: 0.6 },
  call_drop: { no_service: 0.85, degraded: 0.9 },
  weak_signal: { no_service: 0.8, degraded: 0.92 },
  slow_data: { no_service: 0.75, degraded: 0.92 },
  wifi: { no_service: 0.6 },
  other: { no_service: 0.55, degraded: 0.5 },
  billing: {},
  service_attitude: {},
};

/** Categories about the network: only these can match an outage or count towards a suspected one. */
export const NETWORK_CATEGORIES: ReadonlySet<Category> = new Set(['no_service', 'broadband_down', 'call_drop', 'weak_signal', 'slow_data', 'wifi']);
