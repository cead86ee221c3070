/**
 * @module The routing stage: the paths beside the MCP endpoint. `/healthz` (503 while draining, so a load
 * balancer stops sending), the protected-resource metadata in bearer mode (readable from any origin),
 * and 404 for every other path; the endpoint's own path passes on.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError, RPC, type HttpAnswer } from '../http-error.js';
import type { ProtectedResourceMetadata } from '../metadata.js';
import { pathOf } from './request.js';

export interface RouteOptions {
  /** The MCP endpoint's path (`http.path`). */
  mcpPath: string;
  draining: () => boolean;
  /** Bearer mode: the paths the metadata is served on, and the document. */
  metadata?: { paths: string[]; document: ProtectedResourceMetadata };
}

/** Answers a side route, throws 404 for an unknown path, returns undefined for the MCP endpoint. */
export function routes(options: RouteOptions) {
  const metadataPaths = new Set(options.metadata?.paths ?? []);
  return (req: Pick<IncomingMessage, 'url' | 'method'>): HttpAnswer | undefined => {
    const path = pathOf(req);
    if (path === '/healthz' && req.method === 'GET') {
      const draining = options.draining();
      return { status: draining ? 503 : 200, body: { status: draining ? 'draining' : 'ok' } };
    }
    if (options.metadata && metadataPaths.has(path) && req.method === 'GET') {
      return {
        status: 200,
        headers: { 'access-control-allow-origin': '*' },
        body: options.metadata.document,
      };
    }
    if (path !== options.mcpPath) throw new HttpError(404, 'Not found', { rpcCode: RPC.methodNotFound });
    return undefined;
  };
}
