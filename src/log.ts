/**
 * @module The product's logger: structured JSON lines on stderr (stdout is the JSON-RPC channel in
 * stdio mode), with token-bearing fields redacted by name as a second line of defence.
 */
import pino, { type Logger } from 'pino';

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
      level: options.level ?? (process.env.QINDEX_LOG_LEVEL as LogLevel | undefined) ?? 'info',
      base: { name: 'qindex-mcp' },
      redact: { paths: SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]), censor: '[redacted]' },
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
