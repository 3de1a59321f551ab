/** A fault with one root cause, as the NOC sees it: one record, one alert thread. */
export interface Outage {
  /** Stable: the root element and the start time. */
  id: string;
  root: string;
  severity: 'outage' | 'degradation';
  state: 'open' | 'cleared' | 'closed';
  /** The first failing observation of the root. */
  startedAt: number;
  /** The first good observation after it (set while cleared and once closed). */
  clearedAt?: number;
  closedAt?: number;
  /** Elements down or cut off because of the root, with when each was first seen so. */
  impacted: { element: string; since: number }[];
  /** Inside a planned maintenance window: recorded, never paged. */
  planned: boolean;
  /** It cleared and failed again before its recovery was confirmed, `reopened` times. */
  flapping: boolean;
  reopened: number;
  reason: string;
  /**
   * The observation of the root that opened the outage (a trap, a failed poll, a last will, or the
   * inference from the elements behind it), as it was then: `reason` follows later checks, this stays.
   */
  evidence?: { at: number; reason: string };
  /**
   * The root was not seen failing: its failure is inferred from the elements behind it, which all
   * (or the configured share) went down together while it said nothing (`reason` says how many and
   * when). Real evidence confirms it (the flag goes, same outage) or moves it (the outage clears and
   * the elements still down get outages of their own).
   */
  inferred?: true;
  /** Set when the root turned out to be cut off by another outage's root. */
  mergedInto?: string;
}

export type OutageEventType = 'opened' | 'updated' | 'cleared' | 'reopened' | 'closed';

export interface OutageEvent {
  type: OutageEventType;
  /** A snapshot, safe to keep. */
  outage: Outage;
  /** The observation time the change happened at (evaluation time for confirmations). */
  at: number;
}

export interface MaintenanceWindow {
  id: string;
  /** Elements or whole sites it covers. */
  elements?: string[];
  sites?: string[];
  start: number;
  end: number;
  reason?: string;
}

/**
 * The subscribers an outage hits, counted: stored on the outage record and carried by its alerts.
 * Computed by `correlators/impact`.
 */
export interface Scope {
  /** Subscribers the outage has hit so far (distinct). */
  subscribers: number;
  /** Of those, hit right now. */
  current: number;
  /** Subscribers that lost service at some point, and those only ever degraded. */
  noService: number;
  degraded: number;
  byTier: Record<string, number>;
  byService: Record<string, number>;
  byRegion: Record<string, number>;
}
