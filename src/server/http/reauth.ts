/**
 * @module Bearer mode: a tool call whose AWS credentials Q refused (expired early) and that cannot be
 * exchanged again with the token it came with (single-use assertions, design.md) is answered 401
 * invalid_token, like every later call with that token, instead of 200 with a failed tool result. The
 * response's head is held until its first body bytes; a Q call of the request that met a reused assertion
 * by then turns the answer into the 401.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import { isReusedAssertion } from '../../identity/index.js';

interface Scope {
  reused: boolean;
}

// The tool handler runs inside the request's async context (the MCP transport dispatches synchronously
// from handleRequest), so a Q failure is attributed to its own request even when users share a provider.
const scopes = new AsyncLocalStorage<Scope>();

/** Records a Q call's failure against the current request; call it from the Q client's wrapper. */
export function noteQFailure(e: unknown): void {
  const scope = scopes.getStore();
  if (scope && isReusedAssertion(e)) scope.reused = true;
}

/**
 * Serves the request with `serve`; if, before the response's first body bytes, one of its Q calls failed
 * on a reused assertion, answers with `refuse(res)` instead and drops what `serve` writes.
 */
export function serveOrRefuseReused(
  res: ServerResponse,
  refuse: (res: ServerResponse) => void,
  serve: () => Promise<void>,
): Promise<void> {
  const scope: Scope = { reused: false };
  holdHead(res, () => scope.reused, refuse);
  return scopes.run(scope, serve);
}

type Decision = 'holding' | 'passed' | 'refused';

/** Defers `writeHead`/`flushHeaders` until the first `write`/`end`, where `refused()` decides the answer. */
function holdHead(res: ServerResponse, refused: () => boolean, refuse: (res: ServerResponse) => void): void {
  const original = {
    writeHead: res.writeHead.bind(res),
    flushHeaders: res.flushHeaders.bind(res),
    write: res.write.bind(res),
    end: res.end.bind(res),
  };
  let state: Decision = 'holding';
  let head: Parameters<ServerResponse['writeHead']> | undefined;

  const decide = (): Decision => {
    if (state !== 'holding') return state;
    if (refused()) {
      state = 'refused';
      // `refuse` answers through the real methods; what the transport writes later goes nowhere.
      Object.assign(res, original);
      refuse(res);
      Object.assign(res, swallow);
      return state;
    }
    state = 'passed';
    Object.assign(res, original);
    if (head) original.writeHead(...head);
    return state;
  };
  const swallow = {
    writeHead: () => res,
    flushHeaders: () => undefined,
    write: () => true,
    end: () => res,
  };

  Object.assign(res, {
    writeHead: (...args: Parameters<ServerResponse['writeHead']>) => {
      head = args;
      return res;
    },
    flushHeaders: () => undefined,
    write: (...args: Parameters<ServerResponse['write']>) => {
      return decide() === 'passed' ? original.write(...args) : true;
    },
    end: (...args: Parameters<ServerResponse['end']>) => {
      return decide() === 'passed' ? original.end(...args) : res;
    },
  });
}
