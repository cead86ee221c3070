/**
 * @module The SDK's QBusinessClient as client.ts builds it: one of its own per Q client, or, for a
 * shared connection pool (the HTTP transport's users), one per pool that signs each call with the
 * credentials of the user whose call it is (`callOwner`, an AsyncLocalStorage the call runs in).
 */
import { QBusinessClient } from '@aws-sdk/client-qbusiness';
import type { NodeHttp2Handler } from '@smithy/node-http-handler';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { QindexConfig } from '../config/schema.js';
import { perCallCredentials } from '../identity/chain.js';
import { sdkLogger, type Logger } from '../log.js';
import { instrumentAwsClient } from '../telemetry/aws.js';
import type { QClientDeps } from './client.js';

/** Whose call a shared SDK client is sending: it signs with these credentials and logs with this logger. */
export interface CallOwner {
  credentials: QClientDeps['credentials'];
  logger: Logger;
}
export const callOwner = new AsyncLocalStorage<CallOwner>();

/**
 * The SDK clients of a shared pool, one per region and endpoint: users differ only in their credentials,
 * and a client of their own cost each cached user some 17 KiB of heap before its first call.
 */
const sharedSdks = new WeakMap<NodeHttp2Handler, Map<string, QBusinessClient>>();

export function sharedSdk(config: QindexConfig, pool: NodeHttp2Handler): QBusinessClient {
  let byTarget = sharedSdks.get(pool);
  if (!byTarget) sharedSdks.set(pool, (byTarget = new Map()));
  const key = `${config.q.region}|${config.aws.endpoint ?? ''}`;
  let sdk = byTarget.get(key);
  if (!sdk) {
    // It answers for whichever user's call it signs, and refuses outside one.
    const credentials = perCallCredentials(
      () => callOwner.getStore()?.credentials(),
      'a shared Q client was used outside a user call',
    );
    sdk = buildSdk(config, { credentials, requestHandler: pool, logger: ownerSdkLogger });
    byTarget.set(key, sdk);
  }
  return sdk;
}

/** The SDK's notices go to the log of the user whose call they belong to. */
const ownerSdkLogger: ReturnType<typeof sdkLogger> = (() => {
  const at =
    (level: keyof ReturnType<typeof sdkLogger>) =>
    (...content: unknown[]) => {
      const owner = callOwner.getStore();
      if (owner) sdkLogger(owner.logger)[level]?.(...content);
    };
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
})();

export function buildSdk(
  config: QindexConfig,
  parts: {
    credentials: QClientDeps['credentials'];
    requestHandler: NodeHttp2Handler;
    logger: ReturnType<typeof sdkLogger>;
  },
): QBusinessClient {
  const sdk = new QBusinessClient({
    region: config.q.region,
    ...(config.aws.endpoint ? { endpoint: config.aws.endpoint } : {}),
    credentials: parts.credentials,
    // retry.ts owns retries: it knows when a stream may be repeated and when to renew the session.
    maxAttempts: 1,
    requestHandler: parts.requestHandler,
    // The SDK's own notices (e.g. on a failed Chat stream) as JSON log lines, not console text on stderr.
    logger: parts.logger,
  });
  // With a logger set, this middleware would copy every call's input and output into the log;
  // retry.ts and the tools log what matters.
  sdk.middlewareStack.remove('loggerMiddleware');
  // Latency per operation, a span per call and the Q request id for the audit (src/telemetry/aws.ts).
  instrumentAwsClient(sdk, 'q');
  return sdk;
}
