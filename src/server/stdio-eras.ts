/**
 * @module The SDK's serveStdio with an express lane for the pinned connection. serveStdio owns the era
 * decision (the opening, the `server/discover` probe and its fallback, unsupported versions) and every
 * message it treats specially. Once it has pinned an instance and holds nothing queued, the ordinary
 * messages (everything but `initialize`, `subscriptions/listen` and `notifications/cancelled`) go
 * straight to that instance and its responses straight to the wire, which is what serveStdio does with
 * them too, minus the zod type guards it runs on each one (four per call on a 2026-07-28 connection, two
 * on a 2025-11-25 one). The guards add nothing there: our transport has already parsed every inbound
 * message against the strict JSON-RPC schemas, so its shape (request, notification, response) is a
 * matter of which keys it has.
 */
import {
  ProtocolErrorCode,
  type JSONRPCMessage,
  type McpServer,
  type MessageExtraInfo,
  type Transport,
  type TransportSendOptions,
} from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { ProtocolEra } from './mcp.js';

/** What serveStdio does more than deliver, on a pinned connection: these always go through it. */
const SDK_METHODS = new Set(['initialize', 'subscriptions/listen', 'notifications/cancelled']);

export interface ServeErasOptions {
  /** The wire: serveStdio owns it (starts, closes it); its `onmessage` passes through the lane. */
  transport: Transport;
  onerror?: (error: Error) => void;
}

/** serveStdio's handle: `close()` tears the connection down. */
export function serveEras(
  createServer: (era: ProtocolEra) => McpServer,
  options: ServeErasOptions,
): { close(): Promise<void> } {
  const { transport } = options;
  const lane = new ExpressLane(transport, options.onerror);
  const handle = serveStdio(
    ({ era }) => {
      const server = createServer(era);
      const connect = server.connect.bind(server);
      // serveStdio hands each instance a channel of its own; the instance is connected through ours.
      server.connect = (channel: Transport) => connect(lane.adopt(channel, era));
      return server;
    },
    { transport, onerror: options.onerror },
  );
  lane.intercept();
  return {
    close: () => {
      lane.stop();
      return handle.close();
    },
  };
}

/**
 * Decides per inbound message: the pinned instance directly, or serveStdio. `queuedAt` is the last
 * message handed to serveStdio until serveStdio delivers it: serveStdio processes its messages one at a
 * time in order, so once that one reached the instance nothing of ours waits in its queue, and a direct
 * delivery cannot overtake anything.
 */
class ExpressLane {
  private pinned: PinnedChannel | undefined;
  private queuedAt: JSONRPCMessage | undefined;
  private stopped = false;

  constructor(
    private readonly wire: Transport,
    private readonly onerror?: (error: Error) => void,
  ) {}

  /** Puts the lane in front of serveStdio's `onmessage` (it sets that when it is called). */
  intercept(): void {
    const toSdk = this.wire.onmessage;
    if (!toSdk) throw new Error('serveStdio did not take the transport');
    this.wire.onmessage = (message, extra) => {
      const pinned = this.pinned;
      if (pinned && this.queuedAt === undefined && isOrdinary(message)) return this.express(pinned, message);
      this.queuedAt = message;
      toSdk(message, extra);
    };
  }

  /** A delivery that throws is answered as serveStdio's pump answers it: an internal error, reported. */
  private express(pinned: PinnedChannel, message: JSONRPCMessage): void {
    try {
      pinned.deliver(message);
    } catch (e) {
      if ('id' in message && 'method' in message) {
        const reply = {
          jsonrpc: '2.0' as const,
          id: message.id,
          error: { code: ProtocolErrorCode.InternalError, message: 'Internal server error' },
        };
        this.wire.send(reply).catch((failed: unknown) => this.report(failed));
      }
      this.report(e);
    }
  }

  private report(e: unknown): void {
    try {
      this.onerror?.(e instanceof Error ? e : new Error(String(e)));
    } catch {
      // as serveStdio: reporting never breaks serving
    }
  }

  stop(): void {
    this.stopped = true;
    this.pinned = undefined;
  }

  adopt(channel: Transport, era: ProtocolEra): Transport {
    return new PinnedChannel(channel, this.wire, era, {
      delivered: (self, message) => {
        if (message === this.queuedAt) this.queuedAt = undefined;
        if (!this.stopped && !self.closed && pins(self.era, message)) this.pinned = self;
      },
      closed: (self) => {
        if (this.pinned === self) this.pinned = undefined;
      },
    });
  }
}

/**
 * Whether serveStdio has pinned the instance that was just delivered `message`: a 2025 instance at
 * once; a 2026 one on its first request other than `server/discover` (before that it is a probe that
 * an `initialize` may still discard).
 */
const pins = (era: ProtocolEra, message: JSONRPCMessage) =>
  era === 'legacy' || ('id' in message && 'method' in message && message.method !== 'server/discover');

const isOrdinary = (message: JSONRPCMessage) => !('method' in message) || !SDK_METHODS.has(message.method);

/**
 * The instance's transport, over the channel serveStdio connected it to. Everything passes through the
 * channel except what the lane delivers directly and the responses to those: a response to a request
 * the channel delivered goes back through it, so that its bookkeeping (what a discarded probe still
 * owes) stays whole.
 */
class PinnedChannel implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  closed = false;
  /** Requests the channel delivered and the instance has not answered. */
  private readonly viaChannel = new Set<string | number>();

  constructor(
    private readonly channel: Transport,
    private readonly wire: Transport,
    readonly era: ProtocolEra,
    private readonly lane: {
      delivered(self: PinnedChannel, message: JSONRPCMessage): void;
      closed(self: PinnedChannel): void;
    },
  ) {
    channel.onmessage = (message, extra) => {
      if ('id' in message && 'method' in message) this.viaChannel.add(message.id);
      // A cancelled request gets no answer: forget it here, as the channel does.
      else if ('method' in message && message.method === 'notifications/cancelled') {
        const id = (message.params as { requestId?: string | number } | undefined)?.requestId;
        if (id !== undefined) this.viaChannel.delete(id);
      }
      lane.delivered(this, message);
      this.onmessage?.(message, extra);
    };
    channel.onclose = () => {
      this.closed = true;
      lane.closed(this);
      this.onclose?.();
    };
    channel.onerror = (error) => this.onerror?.(error);
  }

  start(): Promise<void> {
    return this.channel.start();
  }

  /** What serveStdio's pinned path does with an ordinary message. */
  deliver(message: JSONRPCMessage): void {
    if (!this.closed) this.onmessage?.(message);
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if ('method' in message || message.id === undefined || this.viaChannel.delete(message.id)) {
      return this.channel.send(message, options);
    }
    if (this.closed) return Promise.resolve();
    return this.wire.send(message, options);
  }

  close(): Promise<void> {
    return this.channel.close();
  }

  setProtocolVersion = (version: string) => this.channel.setProtocolVersion?.(version);
}
