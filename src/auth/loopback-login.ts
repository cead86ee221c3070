/**
 * @module One browser round trip to a loopback redirect URI, for every browser login (the IdP's, in
 * browser.ts, and IAM Identity Center's, in src/identity/idc-login.ts): a one-shot callback server (a
 * port in use named), a fresh `state` checked on return, the URL opened or printed, a time limit and
 * Ctrl-C, and a page in the browser that says how it went. The caller builds the URL and finishes the code.
 */
import * as client from 'openid-client';
import { ErrorCode, QindexError } from '../errors.js';
import { deadline } from './abort.js';
import { page, startCallbackServer } from './callback-server.js';

export interface LoopbackLoginOptions {
  port: number;
  path: string;
  timeoutSeconds: number;
  signal?: AbortSignal;
  /** Names the wait in messages, e.g. "browser sign-in". */
  what: string;
  /** What the person does to start over, e.g. "Run `qindex-mcp login` again". */
  again: string;
  /** The remedy when the time runs out; default: run login again with a longer --timeout. */
  timeoutRemedy?: string;
  /** Where the sign-in happens, for the instructions: "sign in", "sign in through IAM Identity Center". */
  purpose: string;
  /** Open the browser (default true); false prints the URL only. */
  open?: boolean;
  /** How to open a URL; default the `open` package (tests drive a browser of their own). */
  openUrl?: (url: string) => Promise<void>;
  /** Where the instructions go; default stderr (stdout may be a JSON-RPC channel). */
  output?: NodeJS.WritableStream;
  /** Suggest the device login when the port is taken (only where one exists). */
  offerDevice?: boolean;
}

export interface LoopbackSteps<T> {
  /** The authorization URL that comes back to `redirectUri` with `state`. */
  authorizationUrl(redirectUri: string, state: string): Promise<string>;
  /** Runs before the browser opens: a refusal found here is said in the terminal, not in a browser tab. */
  check?(url: string, redirectUri: string): Promise<void>;
  /** Turns the callback URL (its state already checked) into the result, or throws a QindexError. */
  finish(callback: URL, round: { redirectUri: string; state: string }): Promise<T>;
  /** The success page's sentence. */
  signedIn(result: T): string;
}

export async function loopbackLogin<T>(options: LoopbackLoginOptions, steps: LoopbackSteps<T>): Promise<T> {
  const out = options.output ?? process.stderr;
  const state = client.randomState();
  const callback = await startCallbackServer(options.port, options.path, {
    offerDevice: options.offerDevice ?? false,
  });
  const wait = deadline(
    options.timeoutSeconds,
    options.signal,
    options.what,
    options.timeoutRemedy ? { remedy: options.timeoutRemedy } : {},
  );
  try {
    const url = await steps.authorizationUrl(callback.redirectUri, state);
    await steps.check?.(url, callback.redirectUri);
    // Not awaited: a browser may come back (and wait for its page) before `openUrl` returns.
    void announce(url, options, out);
    const { url: returned, respond } = await Promise.race([callback.next, wait.aborted]);
    if (returned.searchParams.get('state') !== state) {
      respond(
        400,
        page(
          'Sign-in failed',
          `This response does not belong to the sign-in that is waiting (state mismatch). Close this tab; ${lower(options.again)}.`,
        ),
      );
      throw new QindexError(
        ErrorCode.StateMismatch,
        'The browser came back with a response that does not match this sign-in (wrong "state"); it was refused.',
        { remedy: `${options.again}, and finish it in the tab it opens.` },
      );
    }
    try {
      const result = await Promise.race([
        steps.finish(returned, { redirectUri: callback.redirectUri, state }),
        wait.aborted,
      ]);
      respond(200, page('Signed in', steps.signedIn(result)));
      return result;
    } catch (e) {
      const said = e instanceof Error ? e.message : 'The sign-in failed.';
      respond(400, page('Sign-in failed', `${said} Return to the terminal for details.`));
      throw e;
    }
  } finally {
    wait.dispose();
    await callback.close();
  }
}

async function announce(url: string, options: LoopbackLoginOptions, out: NodeJS.WritableStream) {
  const waiting = `\n\n  ${url}\n\nWaiting for the ${options.what} (Ctrl-C to stop)…\n`;
  if (options.open === false) {
    out.write(`\nOpen this URL in a browser to ${options.purpose}:${waiting}`);
    return;
  }
  out.write(`\nOpening your browser to ${options.purpose}. If it does not open, visit:${waiting}`);
  const openUrl = options.openUrl ?? defaultOpen;
  await Promise.resolve()
    .then(() => openUrl(url))
    .catch(() => out.write('(Could not open a browser: open the URL above yourself.)\n'));
}

const lower = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

/** `open` and its helpers load only when a browser is to be opened: most starts never need them. */
async function defaultOpen(url: string): Promise<void> {
  const { default: openBrowser } = await import('open');
  const child = await openBrowser(url);
  child.on('error', () => undefined);
}
