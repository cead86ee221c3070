/** @module The parts of a request the stages read: its path, and a header that must appear once. */
import type { IncomingMessage } from 'node:http';

export const pathOf = (req: Pick<IncomingMessage, 'url'>) => new URL(req.url ?? '/', 'http://x').pathname;

/** The header's value; undefined when absent or repeated (node joins only some repeated headers). */
export const headerOf = (req: Pick<IncomingMessage, 'headers'>, name: string) => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
};
