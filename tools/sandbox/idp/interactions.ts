/**
 * @module The sandbox IdP's interaction routes: a plain login form (`/interaction/:uid`, posting
 * to `/interaction/:uid/login`) and automatic consent. Works the same for a browser, a fetch script
 * and the device flow.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { findUser, type World } from '../world.js';
import { errorPage, loginPage } from './pages.js';
import { subjectOf } from './claims.js';

const INTERACTION = /^\/interaction\/([^/]+)(\/login)?$/;

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/** Returns a handler that serves interaction paths and returns false for any other path. */
export function createInteractions(provider: Provider, world: World) {
  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> => {
    const match = INTERACTION.exec(path);
    if (!match) return false;
    const [, uid, login] = match;
    let details: Details;
    try {
      details = await provider.interactionDetails(req, res);
    } catch {
      sendHtml(res, 400, errorPage({ error: 'interaction not found or expired; start the sign-in again' }));
      return true;
    }
    if (details.uid !== uid) {
      sendHtml(res, 400, errorPage({ error: 'this sign-in page belongs to another request' }));
      return true;
    }
    const clientId = String(details.params.client_id ?? '');

    if (details.prompt.name === 'login') {
      if (!login) {
        sendHtml(res, 200, loginPage({ uid, clientId }));
        return true;
      }
      if (req.method !== 'POST') {
        sendHtml(res, 405, errorPage({ error: 'the login form is submitted with POST' }));
        return true;
      }
      const form = new URLSearchParams(await readBody(req));
      const username = form.get('login') ?? '';
      const user = findUser(world, username);
      if (!user || user.password !== form.get('password')) {
        sendHtml(
          res,
          200,
          loginPage({ uid, clientId, login: username, error: 'Wrong username or password.' }),
        );
        return true;
      }
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: subjectOf(user.username), amr: ['pwd'] } },
        { mergeWithLastSubmission: false },
      );
      return true;
    }

    if (details.prompt.name === 'consent') {
      const grantId = await grantEverything(provider, details);
      await provider.interactionFinished(
        req,
        res,
        { consent: { grantId } },
        { mergeWithLastSubmission: true },
      );
      return true;
    }

    sendHtml(res, 400, errorPage({ error: `unsupported prompt ${details.prompt.name}` }));
    return true;
  };
}

/** Consent is automatic: grant whatever the request asked for. */
async function grantEverything(provider: Provider, details: Details): Promise<string> {
  const accountId = details.session?.accountId;
  const clientId = String(details.params.client_id);
  const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  const grant = existing ?? new provider.Grant({ accountId, clientId });
  const missing = details.prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(resource, scopes.join(' '));
  }
  return grant.save();
}

function sendHtml(res: ServerResponse, status: number, html: string) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
