/**
 * @module The product's logger: structured JSON lines on stderr (stdout is the JSON-RPC channel in
 * stdio mode), with token-bearing fields redacted by name as a second line of defence; and the
 * adapter that gives the AWS SDK clients this logger instead of their console fallback.
 */
import pino, { type Logger } from 'pino';
import type { Logger as SdkLogger } from '@smithy/types';

export type { Logger };
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';

const SECRET_KEYS = [
  'token',
  'idToken',
  'id_token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'assertion',
  'secretAccessKey',
  'sessionToken',
  'identityContext',
  'authorization',
  'password',
  'clientSecret',
];

export function createLogger(
  options: { level?: LogLevel; destination?: NodeJS.WritableStream } = {},
): Logger {
  return pino(
    {
      // The configured level (logging.level, or QINDEX_LOG_LEVEL through src/config) comes in `level`.
      level: options.level ?? 'info',
      base: { name: 'qindex-mcp' },
      redact: { paths: SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]), censor: '[redacted]' },
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
