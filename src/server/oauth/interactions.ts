/**
 * @module The sign-in between an MCP client's authorization request and its code: the interaction page
 * sends the browser to the upstream IdP (state, nonce and PKCE verifier kept server-side for signInSeconds),
 * `/oauth/callback` exchanges the upstream code (ID token checked: aud = idp.clientId, nonce) and hands the
 * result back to the interaction (whose cookie binds it to this browser), then consent — remembered per
 * user and client — binds the upstream grant to a new grant of ours. Unfinished, everything expires.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { renderError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Grants } from './grants.js';
import { consentPage, errorPage, type ClientKind } from './pages.js';
import { CALLBACK_PATH, type Upstream } from './upstream.js';
import type { Kv } from './store.js';
import { INTERACTION_PREFIX } from './provider.js';

const INTERACTION = /^\/oauth\/interaction\/([\w-]+)(\/consent)?$/;

interface UpstreamOutcome {
  subject?: string;
  pendingId?: string;
  error?: string;
}

export interface InteractionOptions {
  provider: Provider;
  upstream: Upstream;
  grants: Grants;
  kv: Kv;
  logger: Logger;
  signInSeconds: number;
  consentDays: number;
  tenantClaim: string;
  configuredClients: Set<string>;
  /** The Q application a user of this tenant reaches (for the consent page). */
  applicationOf(tenant: string | undefined): string;
}

const stateName = (state: string) => `upstream-state:${state}`;
const outcomeName = (uid: string) => `upstream-outcome:${uid}`;
const consentName = (subject: string, clientId: string) => `consent:${subject}:${clientId}`;

function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
    // No form-action: browsers apply it to the redirects after the consent POST, which end at the client.
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  });
  res.end(body);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16 * 1024) break;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export function createInteractions(o: InteractionOptions) {
  const { provider, upstream, grants, kv } = o;
  const finish = (req: IncomingMessage, res: ServerResponse, result: object, merge = false) =>
    provider.interactionFinished(req, res, result as Parameters<Provider['interactionFinished']>[2], {
      mergeWithLastSubmission: merge,
    });

  async function callback(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', upstream.redirectUri);
    const state = url.searchParams.get('state') ?? '';
    const saved = state ? await kv.get(stateName(state)) : undefined;
    if (!saved)
      return html(
        res,
        400,
        errorPage('This sign-in has expired or was already used. Start again from your MCP client.'),
      );
    await kv.del(stateName(state)); // single use
    const pending = JSON.parse(saved) as { uid: string; nonce: string; verifier: string };
    let outcome: UpstreamOutcome;
    try {
      const tokens = await upstream.finish(url, { state, nonce: pending.nonce, verifier: pending.verifier });
      const claim = tokens.claims[o.tenantClaim];
      const pendingId = randomBytes(18).toString('base64url');
      await grants.savePending(pendingId, {
        refreshToken: tokens.refreshToken!,
        subject: tokens.claims.sub,
        ...(typeof tokens.claims.email === 'string' ? { email: tokens.claims.email } : {}),
        ...(typeof claim === 'string' ? { tenant: claim } : {}),
      });
      outcome = { subject: tokens.claims.sub, pendingId };
    } catch (e) {
      outcome = { error: renderError(e, { audience: 'remote', logger: o.logger }).text };
    }
    await kv.set(outcomeName(pending.uid), JSON.stringify(outcome), o.signInSeconds);
    res.writeHead(303, { location: `${INTERACTION_PREFIX}${pending.uid}`, 'cache-control': 'no-store' });
    res.end();
  }

  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string, consent: boolean) {
    let details: Awaited<ReturnType<Provider['interactionDetails']>>;
    try {
      details = await provider.interactionDetails(req, res);
    } catch {
      return html(
        res,
        400,
        errorPage(
          'This sign-in has expired or belongs to another browser. Start again from your MCP client.',
        ),
      );
    }
    if (details.uid !== uid)
      return html(res, 400, errorPage('This sign-in page belongs to another request.'));

    if (details.prompt.name === 'login') {
      const saved = await kv.get(outcomeName(uid));
      if (!saved) {
        const { url, pending } = await upstream.start();
        await kv.set(
          stateName(pending.state),
          JSON.stringify({ uid, nonce: pending.nonce, verifier: pending.verifier }),
          o.signInSeconds,
        );
        res.writeHead(303, { location: url, 'cache-control': 'no-store' });
        return res.end();
      }
      await kv.del(outcomeName(uid));
      const outcome = JSON.parse(saved) as UpstreamOutcome;
      if (outcome.error || !outcome.subject) {
        return finish(req, res, {
          error: 'access_denied',
          error_description: outcome.error ?? 'the sign-in failed',
        });
      }
      return finish(req, res, {
        login: { accountId: outcome.subject },
        upstream: { pendingId: outcome.pendingId },
      });
    }

    if (details.prompt.name !== 'consent')
      return html(res, 400, errorPage(`Unsupported step ${details.prompt.name}.`));
    const pendingId = (details.lastSubmission as { upstream?: { pendingId?: string } } | undefined)?.upstream
      ?.pendingId;
    const signedIn = pendingId ? await grants.pending(pendingId) : undefined;
    const subject = details.session?.accountId;
    const clientId = String(details.params.client_id);
    if (!pendingId || !signedIn || signedIn.subject !== subject) {
      return finish(req, res, {
        error: 'access_denied',
        error_description: 'the sign-in expired before consent',
      });
    }
    const remembered = o.consentDays > 0 && !!(await kv.get(consentName(subject, clientId)));
    let decision: string | undefined = remembered ? 'allow' : undefined;
    if (consent && !remembered) {
      if (req.method !== 'POST') return html(res, 405, errorPage('The consent form is submitted with POST.'));
      decision = (await readForm(req)).get('decision') ?? undefined;
    }
    if (!decision) {
      const client = await provider.Client.find(clientId);
      const kind: ClientKind = o.configuredClients.has(clientId)
        ? 'configured'
        : /^https:\/\//.test(clientId)
          ? 'metadata-document'
          : 'registered';
      return html(
        res,
        200,
        consentPage({
          uid,
          clientId,
          clientName: client?.clientName,
          kind,
          user: signedIn.email ?? subject,
          application: o.applicationOf(signedIn.tenant),
        }),
      );
    }
    if (decision !== 'allow') {
      await grants.dropPending(pendingId);
      return finish(req, res, { error: 'access_denied', error_description: 'the user denied access' }, true);
    }
    const grant = new provider.Grant({ accountId: subject, clientId });
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(resource, scopes.join(' '));
    }
    const grantId = await grant.save();
    await grants.bind(pendingId, grantId);
    if (o.consentDays > 0) await kv.set(consentName(subject, clientId), '1', o.consentDays * 24 * 60 * 60);
    return finish(req, res, { consent: { grantId } }, true);
  }

  /** Serves the interaction and callback paths; false for any other path. */
  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> => {
    if (path === CALLBACK_PATH) {
      if (req.method !== 'GET') return (html(res, 405, errorPage('The callback is a GET.')), true);
      await callback(req, res);
      return true;
    }
    const match = INTERACTION.exec(path);
    if (!match) return false;
    await interaction(req, res, match[1]!, !!match[2]);
    return true;
  };
}
