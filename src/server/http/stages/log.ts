/** @module The request log: one debug line per finished request, naming the user by a hash prefix only. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../../log.js';

export function requestLog(logger: Logger) {
  return (req: Pick<IncomingMessage, 'method'>, res: ServerResponse, key: string): void => {
    const started = Date.now();
    res.once('finish', () =>
      // The key is a hash of the user: requests can be correlated without naming anyone.
      logger.debug(
        { method: req.method, status: res.statusCode, ms: Date.now() - started, user: key.slice(0, 12) },
        'request',
      ),
    );
  };
}
