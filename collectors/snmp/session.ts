import snmp from 'net-snmp';
import type { SnmpTargetConfig, SnmpDefaults } from '../../src/config/schema.ts';

/** SNMP value types, as numbered on the wire (RFC 2578, RFC 3416). */
export const SnmpType = {
  Boolean: 1, Integer: 2, OctetString: 4, Null: 5, OID: 6, IpAddress: 64, Counter32: 65,
  Gauge32: 66, TimeTicks: 67, Opaque: 68, Counter64: 70, NoSuchObject: 128, NoSuchInstance: 129,
  EndOfMibView: 130,
} as const;

export interface Varbind {
  oid: string;
  type: number;
  value: unknown;
}

/**
 * The few SNMP operations a poll needs. The net-snmp session below is the real one; tests pass
 * fakes. Rejections are for the whole request (timeout, error-status, undecodable response);
 * per-OID exceptions (noSuchObject, endOfMibView) come back as varbinds of those types.
 */
export interface SnmpSession {
  get(oids: string[]): Promise<Varbind[]>;
  /** GETBULK with every OID a repeater: one array per requested OID, its successors in order. */
  getBulk(oids: string[], maxRepetitions: number): Promise<Varbind[][]>;
  close(): void;
}

/** The settings one target is polled with, its own over the defaults. */
export type ResolvedTarget = Omit<SnmpTargetConfig, keyof SnmpDefaults> & SnmpDefaults & { element: string };

export function resolveTarget(t: SnmpTargetConfig, d: SnmpDefaults): ResolvedTarget {
  const out: any = { ...d };
  for (const [k, v] of Object.entries(t)) if (v !== undefined) out[k] = v;
  out.element ??= t.name;
  return out as ResolvedTarget;
}

export type SessionFactory = (target: ResolvedTarget, onError: (err: Error) => void) => SnmpSession;

/** Opens net-snmp sessions: one UDP socket per target, kept for the target's lifetime. */
export const netSnmpSessionFactory: SessionFactory = (target, onError) => {
  const options: Record<string, unknown> = {
    port: target.port,
    retries: target.retries,
    timeout: target.timeout,
    version: target.version === '3' ? snmp.Version3 : snmp.Version2c,
    transport: target.host.includes(':') ? 'udp6' : 'udp4',
    idBitsSize: 32,
  };
  let session: any;
  if (target.version === '3') {
    const a = target.auth!;
    session = snmp.createV3Session(target.host, netSnmpUser(a), { ...options, context: a.context } as snmp.SessionOptionsV3);
  } else {
    session = snmp.createSession(target.host, target.community, options as snmp.SessionOptions);
  }
  // An undecodable datagram is reported here (the request itself then times out): without a
  // listener, EventEmitter would throw it and take the process down.
  session.on('error', onError);
  return {
    get: (oids) => new Promise((resolve, reject) => {
      session.get(oids, (err: Error | null, vbs: Varbind[]) => (err ? reject(err) : resolve(vbs)));
    }),
    getBulk: (oids, maxRepetitions) => new Promise((resolve, reject) => {
      // net-snmp groups the repeaters' varbinds per requested OID already.
      session.getBulk(oids, 0, maxRepetitions, (err: Error | null, vbs: Varbind[][]) => (err ? reject(err) : resolve(vbs)));
    }),
    close: () => {
      try { session.close(); } catch { /* already closed */ }
    },
  };
};

/** A configured SNMPv3 user (polling's `auth`, or a trap receiver's user) as net-snmp takes it. */
export function netSnmpUser(a: { user: string; level: keyof typeof snmp.SecurityLevel; authProtocol: keyof typeof snmp.AuthProtocols; authKey?: string; privProtocol: keyof typeof snmp.PrivProtocols; privKey?: string }): snmp.User {
  const user: snmp.User = { name: a.user, level: snmp.SecurityLevel[a.level] };
  if (a.level !== 'noAuthNoPriv') {
    user.authProtocol = snmp.AuthProtocols[a.authProtocol];
    user.authKey = a.authKey;
  }
  if (a.level === 'authPriv') {
    user.privProtocol = snmp.PrivProtocols[a.privProtocol];
    user.privKey = a.privKey;
  }
  return user;
}
