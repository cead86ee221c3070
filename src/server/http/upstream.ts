/**
 * @module The one way a user's tool calls reach Amazon Q Business over HTTP: their Q client with every
 * operation routed through `around`, which the server uses to cap that user's calls in flight (whatever
 * request, batch or abandoned connection started them) and to watch for refused credentials.
 */
import type { QClient } from '../../q/client.js';

/** Runs one Q operation; `signal` is the caller's cancellation (the tool call's). */
export type AroundCall = <T>(call: () => Promise<T>, signal: AbortSignal | undefined) => Promise<T>;

/**
 * `q` with each of its operations wrapped. Every function but `destroy` is an operation, so one added to
 * QClient later is wrapped too; operations take `(input, options?: { signal })`.
 */
export function gateQClient(q: QClient, around: AroundCall): QClient {
  const gated: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(q)) {
    if (typeof value !== 'function' || name === 'destroy') {
      gated[name] = value;
      continue;
    }
    const operation = value as (...args: unknown[]) => Promise<unknown>;
    gated[name] = (...args: unknown[]) => {
      const signal = (args[1] as { signal?: AbortSignal } | undefined)?.signal;
      return around(() => operation.apply(q, args), signal);
    };
  }
  return gated as unknown as QClient;
}
