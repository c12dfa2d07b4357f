import { FEATURES, PROTOCOL_VERSION } from '@orders/contract';
import type { WSContext, WSEvents } from 'hono/ws';
import type { Logger } from 'pino';
import type { Grant } from './auth/grant.ts';
import { Connection, type ConnectionOptions } from './hub/connection.ts';
import type { Hub } from './hub/hub.ts';
import { type SessionOptions, SocketSession, type VerifyGrant } from './hub/socket-session.ts';
import type { CapLease } from './limits/connection-caps.ts';
import type { SocketSink } from './protocol/socket-sink.ts';
import type { SendStats } from './send-stats.ts';

/** What every socket of one gateway shares; made once per gateway. */
export interface GatewaySockets<T> {
  readonly gatewayId: string;
  readonly hub: Hub;
  readonly stats: SendStats;
  readonly logger: Logger;
  readonly toSink: (ws: WSContext<T>) => SocketSink;
  readonly connection: ConnectionOptions | undefined;
  readonly session: SessionOptions;
  readonly verify: VerifyGrant | undefined;
  /** Interval clients should ping at, announced in `welcome`. */
  readonly heartbeatMs: number;
  /** Sockets opened so far; numbers the connections. */
  opens: number;
}

/** What the upgrade's guards hand on to its socket. */
export interface Upgrade {
  grant: Grant;
  lease: CapLease | undefined;
  slot: CapLease | undefined;
  abandoned: ReturnType<typeof setTimeout> | undefined;
}

/**
 * One upgrade's socket events: the connection and its session from the moment the socket
 * opens until it closes. A class, so an idle socket holds one object with the gateway's shared
 * part by reference, instead of a closure per event and a context holding all they share.
 * What only opening needs (the grant, the upgrade's slot and its abandoned-upgrade timer) is
 * let go once the socket is open.
 */
export class SocketEvents<T> implements WSEvents<T> {
  readonly #sockets: GatewaySockets<T>;
  #grant: Grant | undefined;
  #slot: CapLease | undefined;
  /** The socket's place under its address and principal caps, released when it closes. */
  readonly #lease: CapLease | undefined;
  #conn: Connection | undefined;
  #session: SocketSession | undefined;
  /** Gives the slot and the lease back should the socket never open; cleared as it opens. */
  #abandoned: ReturnType<typeof setTimeout> | undefined;

  constructor(sockets: GatewaySockets<T>, upgrade: Upgrade) {
    this.#sockets = sockets;
    this.#grant = upgrade.grant;
    this.#lease = upgrade.lease;
    this.#slot = upgrade.slot;
    this.#abandoned = upgrade.abandoned;
  }

  onOpen(_event: Event, ws: WSContext<T>): void {
    const sockets = this.#sockets;
    clearTimeout(this.#abandoned);
    this.#abandoned = undefined;
    const conn = new Connection(
      `${sockets.gatewayId}.${++sockets.opens}`,
      sockets.toSink(ws),
      sockets.stats,
      sockets.connection,
    );
    this.#conn = conn;
    const grant = this.#grant;
    this.#session = new SocketSession(conn, sockets.session, sockets.logger, grant, sockets.verify);
    this.#grant = undefined;
    sockets.hub.add(conn);
    // Counted by the hub from here on.
    this.#slot?.release();
    this.#slot = undefined;
    conn.send({
      type: 'welcome',
      gateway: sockets.gatewayId,
      protocol: PROTOCOL_VERSION,
      heartbeatMs: sockets.heartbeatMs,
      features: FEATURES,
    });
  }

  onMessage(event: MessageEvent): void {
    this.#session?.onMessage(event.data);
  }

  onClose(): void {
    this.#session?.close();
    this.#lease?.release();
    if (this.#conn !== undefined) this.#sockets.hub.remove(this.#conn);
  }

  onError(event: Event): void {
    this.#sockets.logger.debug({ conn: this.#conn?.id, event: event.type }, 'socket error');
  }
}
