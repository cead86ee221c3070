/**
 * @module The product's logger: structured JSON lines on stderr (stdout is the JSON-RPC channel in
 * stdio mode), every field and message passed through the one redaction (src/errors.ts) as a second
 * line of defence; and the adapter that gives the AWS SDK clients this logger instead of their console
 * fallback.
 */
import pino, { type Logger } from 'pino';
import type { Logger as SdkLogger } from '@smithy/types';
import { redact } from './errors.js';

export type { Logger };
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';

export function createLogger(
  options: { level?: LogLevel; destination?: NodeJS.WritableStream } = {},
): Logger {
  return pino(
    {
      // The configured level (logging.level, or QINDEX_LOG_LEVEL through src/config) comes in `level`.
      level: options.level ?? 'info',
      base: { name: 'qindex-mcp' },
      // Secret-named fields at any depth, and text shaped like a token or key anywhere, are blanked.
      formatters: { log: (fields) => redact(fields) },
      hooks: {
        logMethod(args, method) {
          const safe = args.map((a: unknown) => (typeof a === 'string' ? redact(a) : a));
          method.apply(this, safe as Parameters<typeof method>);
        },
      },
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/**
 * The AWS SDK's logger interface over ours. Only text reaches the log: the SDK may pass requests,
 * responses or errors, and those can carry signed headers or credentials, so objects are reduced to
 * their name. Its warnings stay warnings; the rest is debug detail.
 */
export function sdkLogger(logger: Logger): SdkLogger {
  const at =
    (level: 'debug' | 'warn') =>
    (...content: unknown[]) => {
      if (!logger.isLevelEnabled(level)) return;
      logger[level]({ source: 'aws-sdk' }, content.map(describe).join(' '));
    };
  const debug = at('debug');
  return { trace: debug, debug, info: debug, warn: at('warn'), error: debug };
}

function describe(part: unknown): string {
  if (typeof part === 'string') return part.slice(0, 500);
  if (typeof part === 'number' || typeof part === 'boolean') return String(part);
  if (part instanceof Error) return part.name;
  return `[${typeof part}]`;
}
