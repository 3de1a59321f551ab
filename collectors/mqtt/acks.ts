import type { MqttClient } from 'mqtt';

type Stream = NodeJS.WritableStream & { destroy(err?: Error): void; destroyed: boolean };
type Packet = { cmd: string; messageId?: number };
type SendPacket = (packet: Packet, cb?: () => void, ...rest: unknown[]) => void;

interface Held { stream: Stream; messageId: number; persisted: boolean; puback?: Packet; send?: SendPacket }

/** Where a cork counts what it released (the MQTT collector's stats). */
export interface AckCounts {
  /** QoS 1 messages acknowledged to the broker (each once it was persisted). */
  acknowledged: number;
  /** The most PUBACKs released in one turn of the event loop: what one group commit covers. */
  largestCommit: number;
  /** The most messages held at once, taken and not yet acknowledged. */
  mostUnacknowledged: number;
}

/** One QoS 1 message's PUBACK, held by an `AckCork`. */
export interface HeldAck {
  /** What the message carried is persisted: its PUBACK goes out once every earlier one has. */
  persisted(): void;
  /**
   * It could not be persisted: the connection it came on is dropped with its PUBACKs unsent,
   * so the broker delivers those messages again after the reconnect.
   */
  failed(): void;
}

/**
 * Holds each QoS 1 message's PUBACK until what it acknowledges is persisted, and sends the held
 * PUBACKs in the order their messages came (MQTT wants them in that order), the moment the head
 * of the queue is persisted: the PUBACKs of one group commit go out together. What a dropped
 * connection held is forgotten: the broker delivers those messages again.
 *
 * mqtt.js has no hook for this: `attach` wraps its `_sendPacket`, its one way out to the socket
 * (mqtt 5.x); anything that is not a held PUBACK passes straight through. `connectMqtt` attaches
 * the cork given in its options to the client it opens.
 */
export class AckCork {
  /** PUBACKs not yet sent, in the order their messages came. */
  private readonly held: Held[] = [];
  private readonly byId = new Map<number, Held>();
  /** PUBACKs sent in this turn of the event loop (one group commit's, as its promises settle together). */
  private releasedThisTurn = 0;
  private readonly counts: AckCounts;

  constructor(counts: AckCounts = { acknowledged: 0, largestCommit: 0, mostUnacknowledged: 0 }) {
    this.counts = counts;
  }

  /** Routes the client's PUBACKs through the cork. Throws if the client is not an mqtt.js 5.x client. */
  attach(client: MqttClient): void {
    const c = client as unknown as { _sendPacket?: SendPacket };
    if (typeof c._sendPacket !== 'function') throw new Error('cannot hold MQTT acknowledgements: the client has no _sendPacket (mqtt.js 5.x expected)');
    const send = c._sendPacket.bind(client) as SendPacket;
    c._sendPacket = (packet, cb, ...rest) => {
      const ack = packet.cmd === 'puback' && packet.messageId !== undefined ? this.byId.get(packet.messageId) : undefined;
      if (!ack || ack.puback) return send(packet, cb, ...rest);
      ack.puback = packet;
      ack.send = send;
      cb?.(); // the pump goes on to the next message; the PUBACK goes out from release()
      this.release();
    };
  }

  /**
   * Holds the PUBACK of a QoS 1 message the client just handed over (call it before the message
   * handler's `done`, which is when mqtt.js asks to send the PUBACK). `persisted`: nothing to wait
   * for, the PUBACK only keeps its place in the order.
   */
  hold(client: MqttClient, messageId: number, persisted = false): HeldAck {
    const ack: Held = { stream: client.stream as unknown as Stream, messageId, persisted };
    this.held.push(ack);
    this.byId.set(messageId, ack);
    if (this.held.length > this.counts.mostUnacknowledged) this.counts.mostUnacknowledged = this.held.length;
    return {
      persisted: () => {
        ack.persisted = true;
        this.release();
      },
      failed: () => {
        if (!ack.stream.destroyed) ack.stream.destroy();
        this.forget(ack.stream);
      },
    };
  }

  /** Messages taken and not yet acknowledged to the broker. */
  get unacknowledged(): number {
    return this.held.length;
  }

  /** The connection is gone (or only `stream` is): the broker delivers again whatever was not acknowledged on it. */
  forget(stream?: NodeJS.WritableStream): void {
    for (let i = this.held.length - 1; i >= 0; i--) {
      if (stream && this.held[i].stream !== stream) continue;
      this.byId.delete(this.held[i].messageId);
      this.held.splice(i, 1);
    }
  }

  /** Sends the PUBACKs at the head of the queue whose messages are persisted, in order. */
  private release(): void {
    while (this.held.length > 0 && this.held[0].persisted && this.held[0].puback) {
      const ack = this.held.shift()!;
      this.byId.delete(ack.messageId);
      this.counts.acknowledged++;
      if (this.releasedThisTurn++ === 0) {
        setImmediate(() => {
          this.counts.largestCommit = Math.max(this.counts.largestCommit, this.releasedThisTurn);
          this.releasedThisTurn = 0;
        });
      }
      if (!ack.stream.destroyed) ack.send!(ack.puback!, () => {});
    }
  }
}
