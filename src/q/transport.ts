/**
 * @module The HTTP/2 transport of the Q clients: the SDK's handler with every call (Chat's event streams
 * too) on shared sessions, and each session opened with a flow-control window wide enough for the
 * answers it carries at once.
 */
import type { ClientHttp2Session } from 'node:http2';
import { NodeHttp2Handler, type NodeHttp2HandlerOptions } from '@smithy/node-http-handler';

/**
 * A session's connection-level window (RFC 9113 starts it at 64 KiB, and Node leaves it there). All of a
 * session's streams share it: with 100 answers of ~10 KB in flight, a 64 KiB window lets a few through
 * per round trip to the reader, and the rest wait for the window whichever stream the next call is
 * waiting on (measured: search answers' bodies p90 8 s behind their headers at 1,000 concurrent users;
 * see bench/README.md). 8 MiB holds every stream's answer at once.
 */
const SESSION_WINDOW_BYTES = 8 * 1024 * 1024;
/** Each stream's window (its initial 64 KiB would stall a large answer on its own). */
const STREAM_WINDOW_BYTES = 1024 * 1024;

type Connect = (url: string) => ClientHttp2Session;

/**
 * The SDK's HTTP/2 handler, except that Chat's event streams ride the shared session too (the handler
 * gives every event stream a session of its own, a new TCP + TLS connection per streamed chat, when the
 * command marks itself one; a send's own options take precedence over that mark), and that every session
 * widens its connection window once connected.
 */
export class SharedSessionHandler extends NodeHttp2Handler {
  constructor(options: NodeHttp2HandlerOptions) {
    super({ ...options, nodeHttp2ConnectOptions: { settings: { initialWindowSize: STREAM_WINDOW_BYTES } } });
    // The SDK opens sessions in its connection manager and has no hook for them; where its shape is
    // not what this expects, sessions keep the default window (slower under load, not wrong).
    const manager = (this as unknown as { connectionManager?: { connect?: Connect } }).connectionManager;
    const connect = manager?.connect;
    if (manager && typeof connect === 'function') {
      manager.connect = (url) => widened(connect.call(manager, url));
    }
  }

  override handle(...[request, options]: Parameters<NodeHttp2Handler['handle']>) {
    return super.handle(request, { ...options, isEventStream: false });
  }
}

function widened(session: ClientHttp2Session): ClientHttp2Session {
  session.once('connect', () => {
    if (!session.destroyed) session.setLocalWindowSize(SESSION_WINDOW_BYTES);
  });
  return session;
}

/**
 * One HTTP/2 connection pool for many Q clients: the credentials differ per user, the connections need
 * not. Sessions carry up to 100 concurrent streams before another is opened.
 */
export function createQTransport(): NodeHttp2Handler {
  return new SharedSessionHandler({ disableConcurrentStreams: false, maxConcurrentStreams: 100 });
}
