import type { Db } from './db.ts';

/**
 * The schema, one numbered step at a time; applied in order at start, each in its own transaction,
 * recorded in `schema_migrations`. Never edit a shipped step: add the next one.
 */
/** `SERIAL_KEY` in a step's SQL is an auto-numbered BIGINT primary key on either database. */
/** `WITHOUT_ROWID` in a step's SQL becomes SQLite's `WITHOUT ROWID` (one B-tree per table instead of two) and nothing on PostgreSQL. */
export const MIGRATIONS: { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'topology, health, outages, alerts',
    sql: `
CREATE TABLE elements (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, site TEXT, region TEXT, lat DOUBLE PRECISION, lon DOUBLE PRECISION
);
CREATE TABLE links (
  child TEXT NOT NULL, parent TEXT NOT NULL, PRIMARY KEY (child, parent)
);
CREATE TABLE health_transitions (
  element TEXT NOT NULL, at BIGINT NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY (element, at, to_state)
);
CREATE TABLE outages (
  id TEXT PRIMARY KEY, root TEXT NOT NULL, severity TEXT NOT NULL, state TEXT NOT NULL,
  started_at BIGINT NOT NULL, cleared_at BIGINT, closed_at BIGINT,
  planned INTEGER NOT NULL, flapping INTEGER NOT NULL, reopened INTEGER NOT NULL,
  reason TEXT NOT NULL, merged_into TEXT, updated_at BIGINT NOT NULL
);
CREATE INDEX outages_state ON outages (state);
CREATE INDEX outages_root ON outages (root, started_at);
CREATE TABLE outage_impacts (
  outage_id TEXT NOT NULL REFERENCES outages (id), element TEXT NOT NULL, since BIGINT NOT NULL, until BIGINT,
  PRIMARY KEY (outage_id, element)
);
CREATE INDEX outage_impacts_element ON outage_impacts (element, since);
CREATE TABLE outage_events (
  outage_id TEXT NOT NULL REFERENCES outages (id), seq INTEGER NOT NULL, type TEXT NOT NULL, at BIGINT NOT NULL,
  PRIMARY KEY (outage_id, seq)
);
CREATE TABLE alerts (
  id TEXT PRIMARY KEY, outage_id TEXT NOT NULL, event TEXT NOT NULL, raised_at BIGINT NOT NULL, body TEXT NOT NULL,
  ack_state TEXT NOT NULL, ack_by TEXT, ack_at BIGINT
);
CREATE INDEX alerts_outage ON alerts (outage_id, raised_at);
`,
  },
  {
    version: 2,
    name: 'maintenance windows',
    sql: `
CREATE TABLE maintenance (
  id TEXT PRIMARY KEY, elements TEXT NOT NULL, sites TEXT NOT NULL, start_at BIGINT NOT NULL, end_at BIGINT NOT NULL,
  reason TEXT, created_by TEXT NOT NULL, created_at BIGINT NOT NULL
);
`,
  },
  {
    version: 3,
    name: 'subscribers',
    sql: `
CREATE TABLE subscribers (
  id TEXT PRIMARY KEY, tier TEXT NOT NULL, service TEXT NOT NULL, region TEXT, plan TEXT, arpu_minor BIGINT,
  serving TEXT NOT NULL
) WITHOUT_ROWID;
CREATE TABLE subscriber_serving (
  element TEXT NOT NULL, subscriber_id TEXT NOT NULL, PRIMARY KEY (element, subscriber_id)
) WITHOUT_ROWID;
`,
  },
  {
    version: 4,
    name: 'subscriber impacts and outage scope',
    sql: `
CREATE TABLE subscriber_impacts (
  outage_id TEXT NOT NULL, subscriber_id TEXT NOT NULL, since BIGINT NOT NULL, until BIGINT, kind TEXT NOT NULL,
  tier TEXT NOT NULL, service TEXT NOT NULL, region TEXT,
  PRIMARY KEY (outage_id, subscriber_id, since)
) WITHOUT_ROWID;
CREATE INDEX subscriber_impacts_subscriber ON subscriber_impacts (subscriber_id, since);
ALTER TABLE outages ADD COLUMN scope TEXT;
`,
  },
  {
    version: 5,
    name: 'complaints and suspected outages',
    sql: `
CREATE TABLE complaints (
  id TEXT PRIMARY KEY, subscriber_id TEXT NOT NULL, channel TEXT NOT NULL, category TEXT NOT NULL, text TEXT,
  reported_at BIGINT NOT NULL, received_at BIGINT NOT NULL, cell TEXT, lat DOUBLE PRECISION, lon DOUBLE PRECISION,
  tier TEXT, arpu_minor BIGINT, plan TEXT, previous_30d INTEGER NOT NULL, escalations INTEGER NOT NULL,
  grade TEXT NOT NULL, grade_reasons TEXT NOT NULL, respond_by BIGINT NOT NULL, resolve_by BIGINT NOT NULL,
  status TEXT NOT NULL, outage_id TEXT, impact_kind TEXT, confidence DOUBLE PRECISION, match_reasons TEXT NOT NULL,
  matched_at BIGINT, restored_at BIGINT, updated_at BIGINT NOT NULL
);
CREATE INDEX complaints_subscriber ON complaints (subscriber_id, reported_at);
CREATE INDEX complaints_outage ON complaints (outage_id);
CREATE INDEX complaints_status ON complaints (status, reported_at);
CREATE TABLE suspected_outages (
  id TEXT PRIMARY KEY, element TEXT NOT NULL, since BIGINT NOT NULL, raised_at BIGINT NOT NULL, subscribers INTEGER NOT NULL,
  complaints TEXT NOT NULL, probability DOUBLE PRECISION NOT NULL, state TEXT NOT NULL, outage_id TEXT, updated_at BIGINT NOT NULL
);
CREATE INDEX suspected_outages_state ON suspected_outages (state, raised_at);
`,
  },
  {
    version: 6,
    name: 'complaint handling',
    sql: `
ALTER TABLE complaints ADD COLUMN first_response_at BIGINT;
ALTER TABLE complaints ADD COLUMN resolved_at BIGINT;
ALTER TABLE complaints ADD COLUMN resolution TEXT;
ALTER TABLE complaints ADD COLUMN satisfied INTEGER;
ALTER TABLE complaints ADD COLUMN alerted TEXT NOT NULL DEFAULT '';
`,
  },
  {
    version: 7,
    name: 'outbox',
    sql: `
CREATE TABLE outbox (
  channel TEXT NOT NULL, notifier TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, seq BIGINT NOT NULL,
  PRIMARY KEY (channel, notifier, id)
);
CREATE INDEX outbox_order ON outbox (channel, notifier, seq);
`,
  },
  {
    version: 8,
    name: 'compensation ledger',
    sql: `
ALTER TABLE subscribers ADD COLUMN fee_minor BIGINT;
ALTER TABLE subscribers ADD COLUMN usage TEXT;
ALTER TABLE outages ADD COLUMN force_majeure TEXT;
CREATE TABLE credits (
  id TEXT PRIMARY KEY, outage_id TEXT NOT NULL, subscriber_id TEXT NOT NULL, revision INTEGER NOT NULL, kind TEXT NOT NULL,
  policy TEXT NOT NULL, policy_version TEXT NOT NULL, rule TEXT,
  amount_minor BIGINT NOT NULL, currency TEXT NOT NULL, form TEXT NOT NULL, quantity BIGINT NOT NULL, unit TEXT NOT NULL,
  duration_ms BIGINT NOT NULL, impact_from BIGINT, impact_to BIGINT, tier TEXT NOT NULL, service TEXT NOT NULL, region TEXT,
  month TEXT NOT NULL, day TEXT NOT NULL, steps TEXT NOT NULL,
  state TEXT NOT NULL, reason TEXT, attempts INTEGER NOT NULL, seq BIGINT NOT NULL,
  computed_at BIGINT NOT NULL, delivered_at BIGINT, applied_at BIGINT, reference TEXT
);
CREATE INDEX credits_outage ON credits (outage_id, subscriber_id);
CREATE INDEX credits_state ON credits (state, seq);
CREATE INDEX credits_subscriber ON credits (subscriber_id, month);
CREATE TABLE compensation_runs (
  outage_id TEXT PRIMARY KEY, interim_at BIGINT, settled_at BIGINT, settled_closed_at BIGINT
);
CREATE TABLE credit_confirmations (
  key TEXT PRIMARY KEY, response TEXT NOT NULL, at BIGINT NOT NULL
);
`,
  },
  {
    version: 9,
    name: 'credits: hand-over, corrections that refer to a credit, a ledger sequence',
    // Before this step a pull left no trace: every entry not reversed may have been handed over.
    sql: `
ALTER TABLE credits ADD COLUMN handed_over_at BIGINT;
ALTER TABLE credits ADD COLUMN corrects TEXT;
UPDATE credits SET handed_over_at = COALESCE(delivered_at, applied_at, computed_at) WHERE state <> 'reversed';
CREATE TABLE credit_sequence (id INTEGER PRIMARY KEY, last BIGINT NOT NULL);
INSERT INTO credit_sequence (id, last) SELECT 1, COALESCE(MAX(seq), 0) FROM credits;
CREATE INDEX credits_seq ON credits (seq);
`,
  },
  {
    version: 10,
    name: 'staging tables for subscriber imports',
    sql: `
CREATE TABLE import_subscribers (
  import_id TEXT NOT NULL, started_at BIGINT NOT NULL,
  id TEXT NOT NULL, tier TEXT NOT NULL, service TEXT NOT NULL, region TEXT, plan TEXT, arpu_minor BIGINT, fee_minor BIGINT, usage TEXT,
  serving TEXT NOT NULL, PRIMARY KEY (import_id, id)
) WITHOUT_ROWID;
CREATE TABLE import_serving (
  import_id TEXT NOT NULL, started_at BIGINT NOT NULL, element TEXT NOT NULL, subscriber_id TEXT NOT NULL,
  PRIMARY KEY (import_id, element, subscriber_id)
) WITHOUT_ROWID;
`,
  },
  {
    version: 11,
    name: 'outages inferred from the elements behind their root',
    sql: `ALTER TABLE outages ADD COLUMN inferred INTEGER NOT NULL DEFAULT 0;`,
  },
  {
    version: 12,
    name: 'suspected outages rolled up into one above them',
    sql: `ALTER TABLE suspected_outages ADD COLUMN merged_into TEXT;`,
  },
  {
    version: 13,
    name: 'cluster members and the leader lease',
    sql: `
CREATE TABLE cluster_members (id TEXT PRIMARY KEY, address TEXT, started_at BIGINT NOT NULL, lease_until BIGINT NOT NULL);
CREATE TABLE cluster_leader (id INTEGER PRIMARY KEY, member TEXT NOT NULL, epoch BIGINT NOT NULL, lease_until BIGINT NOT NULL);
`,
  },
  {
    version: 14,
    name: 'health checks forwarded by cluster members to the leader',
    sql: `
CREATE TABLE forwarded_checks (
  id SERIAL_KEY, member TEXT NOT NULL, element TEXT NOT NULL, source TEXT NOT NULL, time BIGINT NOT NULL,
  verdict TEXT NOT NULL, reason TEXT NOT NULL, decisive INTEGER NOT NULL
);
`,
  },
  {
    version: 15,
    name: 'forwarded checks in batches, one row per flush',
    sql: `
DROP TABLE forwarded_checks;
CREATE TABLE forwarded_check_batches (
  id SERIAL_KEY, member TEXT NOT NULL, first_at BIGINT NOT NULL, checks TEXT NOT NULL
);
`,
  },
  {
    version: 16,
    name: 'the first evidence of an outage (the trap or check that opened it)',
    sql: `ALTER TABLE outages ADD COLUMN evidence TEXT;`,
  },
  {
    version: 17,
    name: 'complaints: deadlines not yet warned of, and an outage\'s complaints by status',
    // The deadline sweep reads only complaints still to be warned of (partial indexes whose
    // conditions its queries repeat word for word), not every unresolved complaint ever stored;
    // an outage's matched complaints are found by outage, not among every matched complaint.
    sql: `
CREATE INDEX complaints_response_due ON complaints (respond_by) WHERE resolved_at IS NULL AND first_response_at IS NULL AND alerted NOT LIKE '%response%';
CREATE INDEX complaints_resolution_due ON complaints (resolve_by) WHERE resolved_at IS NULL AND alerted NOT LIKE '%resolution%';
CREATE INDEX complaints_outage_status ON complaints (outage_id, status);
DROP INDEX complaints_outage;
`,
  },
];

/** Several instances (a cluster) may start at once: on PostgreSQL the migrations run under this advisory lock, all in one transaction. */
const MIGRATION_LOCK = 7_324_001;

export async function migrate(db: Db): Promise<number[]> {
  if (db.kind !== 'postgres') return apply(db);
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    return apply(tx);
  });
}

async function apply(db: Db): Promise<number[]> {
  await db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
  const done = new Set((await db.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => Number(r.version)));
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    await db.transaction(async (tx) => {
      await tx.exec(m.sql.replaceAll('WITHOUT_ROWID', db.kind === 'sqlite' ? 'WITHOUT ROWID' : '')
        .replaceAll('SERIAL_KEY', db.kind === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY'));
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
    });
    applied.push(m.version);
  }
  return applied;
}
