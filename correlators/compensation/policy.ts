import type { ImpactKind } from '../impact/impact.ts';
import type { WorkingCalendar } from './calendar.ts';

/**
 * A compensation policy: a published rule turned into data. Amounts are in minor currency units
 * (cents, pence); durations in ms. The loader (`correlators/compensation/policies.ts`) reads these from
 * YAML in `config/policies/` and checks them; everything here is plain data.
 */

/** A money value: fixed, a share of the subscriber's monthly fee, a dated figure, or the highest of several. */
export type Value =
  | { fixed: number }
  | { feeShare: number }
  | { figure: string }
  | { max: Value[] };

/**
 * How an amount is built from the impact. Elapsed units (`hour`, `day` = 24 h) count what has
 * started of the duration past `after`; calendar days count the local days the impact touches
 * after a grace of `grace` calendar or working days that begins the day after the impact began
 * (the day itself does not count, as in TKG §58 and Ofcom's "two full working days").
 */
export type Amount =
  | { per: { unit: 'hour' | 'day'; after?: number; upTo?: number; rate: Value } }
  | { perCalendarDay: { grace: number; working?: boolean; upTo?: number; rate: Value } }
  | { once: { after: number; value: Value } }
  | { sum: Amount[] }
  | { greatest: Amount[] };

export interface Rule {
  id: string;
  description?: string;
  /** Which impact kinds count toward the duration (a no-service rule, a degraded-or-worse rule). */
  kinds: ImpactKind[];
  services?: string[];
  tiers?: string[];
  excludeTiers?: string[];
  /** Eligible only when the impact lasted strictly longer than this. */
  longerThan: number;
  amount: Amount;
}

export const FORMS = ['bill_credit', 'data_pack', 'free_minutes', 'service_days'] as const;
export type Form = (typeof FORMS)[number];
export const FORM_UNITS: Record<Form, string> = { bill_credit: 'minor', data_pack: 'MB', free_minutes: 'minutes', service_days: 'days' };

/** The form a credit takes for a subscriber profile; the first choice that fits wins. */
export interface FormChoice {
  usage?: string[];
  tiers?: string[];
  services?: string[];
  form: Form;
  /** For forms other than a bill credit: `quantity` units for each `value` of credit (rounded up). */
  per?: { value: Value; quantity: number };
}

export interface Policy {
  id: string;
  version: string;
  title: string;
  /** Where the rule is published. */
  source?: string;
  currency: string;
  timezone: string;
  /** Which subscribers the policy is for; the first configured policy that fits a subscriber is theirs. */
  appliesTo?: { regions?: string[]; services?: string[]; tiers?: string[] };
  calendar?: WorkingCalendar;
  /** Dated figures rules refer to by name (`{ figure: dailyRepair }`): the one in force on the impact's first day applies. */
  figures: Record<string, { from: string; value: number }[]>;
  exclusions: {
    /** Planned work announced at least this long ahead pays nothing (null: planned work is paid like any outage). */
    plannedNotice: number | null;
    /** Outages the NOC flagged as force majeure pay nothing. */
    forceMajeure: boolean;
  };
  /** The subscriber gets the best rule they are eligible for. */
  rules: Rule[];
  tiers: Record<string, { multiplier?: number; extra?: Value }>;
  caps: { perEvent?: Value; perMonth?: Value };
  forms: FormChoice[];
}

/** The subscriber as the policy sees them. */
export interface Claimant {
  subscriberId: string;
  tier: string;
  service: string;
  region?: string;
  /** The monthly fee in minor units (shares of it are 0 when unknown). */
  feeMinor?: number;
  /** Usage profile from the inventory: `data`, `voice`, `mixed`, ... */
  usage?: string;
}

export interface ImpactInterval { kind: ImpactKind; since: number; until: number }

/** What the outage was, as the exclusions see it. */
export interface EventFacts {
  outageId: string;
  planned: boolean;
  /** How far ahead the maintenance covering a planned outage was announced (ms), when known. */
  plannedNotice?: number;
  forceMajeure: boolean;
}

export const policyKey = (p: Pick<Policy, 'id' | 'version'>): string => `${p.id}@${p.version}`;
