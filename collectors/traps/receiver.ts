import snmp from 'net-snmp';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import type { TrapsConfig } from '../../src/config/schema.ts';
import type { RawNotification } from './decode.ts';
import { netSnmpUser } from '../snmp/session.ts';

/** Why a datagram was refused before it became a notification (a fixed set: a label in /metrics). */
export type RefusalReason =
  | 'unknown_community' // v1/v2c with a community not configured
  | 'unknown_user' // v3 with a user not configured
  | 'auth_failure' // v3 whose digest does not match the user's key
  | 'decrypt_failure' // v3 that does not decrypt with the user's privacy key
  | 'security_level' // v3 with less security (no auth, no privacy) than its user requires
  | 'malformed' // not SNMP, truncated BER, a value that does not decode
  | 'unsupported_pdu' // a request other than SNMPv3 discovery: a receiver answers none
  | 'internal'; // net-snmp threw while handling it (e.g. re-encoding an inform's answer)

export const REFUSAL_REASONS: readonly RefusalReason[] = ['unknown_community', 'unknown_user', 'auth_failure', 'decrypt_failure', 'security_level', 'malformed', 'unsupported_pdu', 'internal'];

export type TrapUser = TrapsConfig['users'][number];

export interface Peer { address: string; port: number }

export interface ReceiverHandlers {
  /** A notification net-snmp accepted (authorized; an inform already answered). Must not throw (it is guarded all the same). */
  notification(n: RawNotification): void;
  /** A datagram refused, with who sent it; `detail` is net-snmp's words, cut short and without digests. */
  refused(reason: RefusalReason, from: Peer | undefined, detail: string): void;
  /** The receiver answered an SNMPv3 discovery (an inform sender learning the engine ID). */
  discovery?(from: Peer): void;
  /** Asked first for every datagram, before it is decoded: false drops it there (a flooding source). */
  admit?(address: string): boolean;
  /** A socket error outside any datagram (after the bind). */
  socketError(err: Error): void;
}

export interface ReceiverOptions {
  address: string;
  /** 0: a port the kernel picks (tests); `start` returns the port bound. */
  port: number;
  communities: readonly string[];
  users: readonly TrapUser[];
  /** Hex; absent, net-snmp makes a random one. */
  engineID?: string;
  /** The socket's receive buffer to ask the kernel for (bytes): room for a burst while the event loop is busy. */
  recvBufferSize?: number;
}

// The error classes net-snmp exports but its types do not declare (ProcessingError it does not export: told by its name).
const netsnmp = snmp as unknown as { RequestInvalidError: new () => Error; PduType: Record<string, number> } & typeof snmp;

const USM_REPORT = /^1\.3\.6\.1\.6\.3\.15\.1\.1\.(\d)\.0$/;

/** net-snmp's error for a refused datagram, as one of our reasons and a short detail (no digests, no keys: its `info` carries the user's keys). */
export function classifyError(err: unknown): { reason: RefusalReason; detail: string } {
  const e = err as { name?: string; message?: string; code?: unknown; error?: unknown };
  const message = String(e?.message ?? err).replace(/[0-9a-f]{16,}/gi, '…').slice(0, 200);
  if (e?.name === 'ProcessingError') {
    const inner = String((e.error as Error | undefined)?.message ?? '').replace(/[0-9a-f]{16,}/gi, '…').slice(0, 200);
    return { reason: 'malformed', detail: inner || message };
  }
  if (err instanceof snmp.ResponseInvalidError) {
    if (e.code === snmp.ResponseInvalidCode.EAuthFailure) return { reason: 'auth_failure', detail: 'authentication digest does not match the user\'s key' };
    if (e.code === snmp.ResponseInvalidCode.ECouldNotDecrypt) return { reason: 'decrypt_failure', detail: 'does not decrypt with the user\'s privacy key' };
    return { reason: 'malformed', detail: message };
  }
  if (err instanceof snmp.RequestFailedError) {
    if (/community not found/i.test(message)) return { reason: 'unknown_community', detail: 'community not configured' };
    if (/user not found/i.test(message)) return { reason: 'unknown_user', detail: message };
    if (/requires (authentication|privacy)/i.test(message)) return { reason: 'security_level', detail: message };
    return { reason: 'malformed', detail: message };
  }
  if (err instanceof netsnmp.RequestInvalidError) return { reason: 'unsupported_pdu', detail: message };
  return { reason: 'internal', detail: message };
}

/**
 * The SNMP notification receiver: net-snmp's `createReceiver` on one UDP socket, with the
 * configured communities and SNMPv3 users in its authorizer. net-snmp answers informs itself,
 * before `notification` is called (an inform is acknowledged once received, not once persisted).
 *
 * Refusals reach `refused`: net-snmp's error callback (unknown community or user, failed
 * authentication or decryption, undecodable datagrams, with the sender from its `rinfo`) and the
 * SNMPv3 reports net-snmp sends instead of calling back (an inform from an unknown user), and the
 * SNMPv3 messages with an empty user name net-snmp lets through unauthenticated. Nothing
 * throws out of it: the datagram handler is guarded, so a datagram that makes net-snmp throw (it
 * does, answering an inform with a value it cannot encode again) is refused as `internal`.
 */
export class TrapReceiver {
  private readonly o: ReceiverOptions;
  private readonly h: ReceiverHandlers;
  private receiver: any;
  private socket: dgram.Socket | undefined;
  private bound: Peer | undefined;

  constructor(o: ReceiverOptions, h: ReceiverHandlers) {
    this.o = o;
    this.h = h;
  }

  /** Where it listens, once started. */
  get address(): Peer | undefined {
    return this.bound;
  }

  /** Binds and resolves with the address bound; rejects when the bind fails (EACCES on 162 without CAP_NET_BIND_SERVICE, EADDRINUSE). */
  start(): Promise<Peer> {
    if (this.bound) return Promise.resolve(this.bound);
    const port = this.o.port;
    let socket!: dgram.Socket;
    // net-snmp reads port 0 as "unset" (162); its socket factory is the documented way in.
    const dgramModule = {
      createSocket: (type: dgram.SocketType) => {
        socket = dgram.createSocket(type);
        const bind = socket.bind.bind(socket) as (port: number, address?: string) => dgram.Socket;
        (socket as any).bind = (_port: number, address?: string) => bind(port, address ?? undefined);
        return socket;
      },
    };
    let listening = false;
    const options: Record<string, unknown> = {
      port: port || 162, address: this.o.address, transport: isIPv6(this.o.address) ? 'udp6' : 'udp4',
      includeAuthentication: true, disableAuthorization: false, dgramModule,
      ...(this.o.engineID && { engineID: this.o.engineID.replace(/^0x/, '') }),
    };
    return new Promise<Peer>((resolve, reject) => {
      const onBindError = (err: Error) => reject(err);
      const users = new Set(this.o.users.map((u) => u.user));
      this.receiver = snmp.createReceiver(options, (err: unknown, n: RawNotification) => {
        if (!err) {
          // net-snmp takes an SNMPv3 message with an empty user name as noAuthNoPriv, with no user
          // configured at all: anyone could send traps past every check. Only a configured user's count.
          if (n?.pdu?.scoped === true && !users.has(String(n.pdu.user ?? ''))) {
            const from = n.rinfo && { address: n.rinfo.address, port: n.rinfo.port };
            return this.guard(() => this.h.refused('unknown_user', from, `SNMPv3 from user ${JSON.stringify(String(n.pdu.user ?? '').slice(0, 32))}, which is not configured`), undefined);
          }
          return this.guard(() => this.h.notification(n), undefined);
        }
        const rinfo = (err as { rinfo?: Peer }).rinfo;
        if (!rinfo) {
          // A socket error, not a datagram's: before the bind completes it is the bind's.
          if (!listening) return onBindError(err as Error);
          return this.guard(() => this.h.socketError(err as Error), undefined);
        }
        const { reason, detail } = classifyError(err);
        this.guard(() => this.h.refused(reason, { address: rinfo.address, port: rinfo.port }, detail), undefined);
      });
      const auth = this.receiver.getAuthorizer();
      for (const c of this.o.communities) auth.addCommunity(c);
      for (const u of this.o.users) auth.addUser(netSnmpUser(u));
      this.watchReports();
      this.socket = socket;
      // The datagram handler net-snmp installed, guarded: whatever it throws is a refusal, not a crash.
      for (const fn of socket.listeners('message') as ((msg: Buffer, rinfo: dgram.RemoteInfo) => void)[]) {
        socket.removeListener('message', fn);
        socket.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => this.guard(() => {
          if (!this.h.admit || this.h.admit(rinfo.address)) fn(msg, rinfo);
        }, rinfo));
      }
      socket.once('listening', () => {
        listening = true;
        if (this.o.recvBufferSize) {
          try { socket.setRecvBufferSize(this.o.recvBufferSize); } catch { /* capped by net.core.rmem_max: the kernel's default stays */ }
        }
        const a = socket.address();
        this.bound = { address: a.address, port: a.port };
        resolve(this.bound);
      });
    }).catch((err) => {
      this.closeQuietly();
      throw err;
    });
  }

  /** Runs `fn`; what it throws becomes an `internal` refusal of the datagram (or a socket error). */
  private guard(fn: () => void, rinfo: Peer | undefined): void {
    try {
      fn();
    } catch (err) {
      try {
        const from = rinfo && { address: rinfo.address, port: rinfo.port };
        const { reason, detail } = (err as Error)?.name === 'ProcessingError' ? classifyError(err) : { reason: 'internal' as const, detail: String((err as Error)?.message ?? err).slice(0, 200) };
        this.h.refused(reason, from, detail);
      } catch { /* a handler that throws twice is not allowed to take the socket down */ }
    }
  }

  /** SNMPv3 reports net-snmp sends in place of an error callback: an unknown user, a security level too low, a discovery. */
  private watchReports(): void {
    const listener = this.receiver.listener;
    const send = listener.send.bind(listener);
    listener.send = (message: any, rinfo: Peer, socket: unknown) => {
      const vb = message?.pdu?.type === netsnmp.PduType.Report ? message.pdu.varbinds?.[0] : undefined;
      const m = vb && USM_REPORT.exec(String(vb.oid));
      const from = { address: rinfo.address, port: rinfo.port };
      if (m?.[1] === '3') this.h.refused('unknown_user', from, 'unknown user (answered with a report)');
      else if (m?.[1] === '5' || m?.[1] === '1') this.h.refused('security_level', from, 'less security than the user requires (answered with a report)');
      else if (m?.[1] === '4') this.h.discovery?.(from);
      return send(message, rinfo, socket);
    };
  }

  /**
   * What the kernel says of the socket (Linux, /proc/net/udp and udp6): datagrams it dropped because
   * the receive buffer was full (a storm faster than the receiver; they never reach net-snmp, so
   * nothing else counts them), and the bytes waiting now. Undefined elsewhere, or before the bind.
   */
  socketStats(): { drops: number; queuedBytes: number } | undefined {
    const port = this.bound?.port;
    if (port === undefined) return undefined;
    const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
    for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
      let text: string;
      try { text = readFileSync(file, 'utf8'); } catch { continue; }
      for (const line of text.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length < 13 || !f[1].endsWith(`:${hexPort}`)) continue;
        return { drops: Number(f[12]), queuedBytes: parseInt(f[4].split(':')[1], 16) };
      }
    }
    return undefined;
  }

  private closeQuietly(): void {
    try { this.receiver?.close(); } catch { /* not bound, or closed already */ }
    this.receiver = undefined;
  }

  /** Closes the socket; resolves once it is closed. Idempotent. */
  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    this.bound = undefined;
    if (!s || !this.receiver) return;
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    this.closeQuietly();
    await closed;
  }
}
