/**
 * @module Device authorization grant (RFC 8628), the login for machines without a browser: shows the
 * verification URL, the user code and a QR code on stderr, then polls at the server's interval (slowing
 * down when told) until approval, denial, expiry, the time limit or Ctrl-C.
 */
import * as client from 'openid-client';
import qrcode from 'qrcode-terminal';
import { QindexError } from '../errors.js';
import { deadline } from './abort.js';
import { oidcError, type Oidc } from './oidc.js';
import { toTokenSet, type TokenSet } from './tokens.js';

export interface DeviceLoginOptions {
  signal?: AbortSignal;
  /** Give up after this many seconds (capped by the device code's own lifetime). Default 600. */
  timeoutSeconds?: number;
  /** Where the instructions go; default stderr (stdout may be a JSON-RPC channel). */
  output?: NodeJS.WritableStream;
  /** Print a QR code of the complete verification URL. Default true. */
  qr?: boolean;
  profile?: string;
}

export async function deviceLogin(oidc: Oidc, options: DeviceLoginOptions = {}): Promise<TokenSet> {
  const configuration = await oidc.configuration();
  const metadata = configuration.serverMetadata();
  const ctx = { issuer: oidc.issuer, clientId: oidc.clientId, profile: options.profile };
  if (!metadata.device_authorization_endpoint) {
    throw new QindexError(
      'device_unsupported',
      `The IdP at ${oidc.issuer} does not offer the device authorization grant.`,
      {
        remedy: 'Use `qindex-mcp login --browser`.',
      },
    );
  }
  let started: client.DeviceAuthorizationResponse;
  try {
    started = await client.initiateDeviceAuthorization(configuration, { scope: oidc.scopes.join(' ') });
  } catch (e) {
    throw oidcError(e, { ...ctx, action: 'device', url: metadata.device_authorization_endpoint });
  }
  show(started, options.output ?? process.stderr, options.qr ?? true);

  const limit = Math.min(options.timeoutSeconds ?? 600, started.expires_in);
  const wait = deadline(limit, options.signal, 'device sign-in');
  try {
    const response = await Promise.race([
      client.pollDeviceAuthorizationGrant(configuration, started, undefined, { signal: wait.signal }),
      wait.aborted,
    ]);
    return await toTokenSet(oidc, response, { requireRefreshToken: true });
  } catch (e) {
    if (wait.signal.aborted) throw wait.signal.reason;
    throw oidcError(e, { ...ctx, action: 'token', url: metadata.token_endpoint ?? oidc.issuer });
  } finally {
    wait.dispose();
  }
}

function show(started: client.DeviceAuthorizationResponse, out: NodeJS.WritableStream, qr: boolean): void {
  out.write(`\nTo sign in, open ${started.verification_uri}\nand enter the code: ${started.user_code}\n`);
  const complete = started.verification_uri_complete;
  if (complete) {
    out.write(`\nOr open ${complete}`);
    if (qr) qrcode.generate(complete, { small: true }, (code) => out.write(` or scan:\n${code}`));
    out.write('\n');
  }
  out.write(
    `\nWaiting for approval (the code expires in ${Math.round(started.expires_in / 60)} min; Ctrl-C to stop)…\n`,
  );
}
