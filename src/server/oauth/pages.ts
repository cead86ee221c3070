/**
 * @module The connector's pages: consent (names the MCP client — by its metadata document's name and host,
 * its self-asserted registration name, or its configured name — and the Q application it would reach; a
 * form with buttons `allow` and `deny`) and a plain error page. Everything shown is escaped.
 */

export type ClientKind = 'metadata-document' | 'registered' | 'configured';

export interface ConsentView {
  uid: string;
  clientId: string;
  clientName: string | undefined;
  kind: ClientKind;
  user: string;
  application: string;
}

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** How the consent page names the client, as a sentence fragment (plain text, unescaped). */
export function clientLabel(view: Pick<ConsentView, 'clientId' | 'clientName' | 'kind'>): string {
  if (view.kind === 'metadata-document') {
    const host = new URL(view.clientId).host;
    return `${view.clientName ?? host} (from ${host})`;
  }
  if (view.kind === 'registered') {
    return `${view.clientName ?? 'An unnamed client'} (a name the client gave itself when it registered; not verified)`;
  }
  return view.clientName ?? view.clientId;
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escape(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5}button{font-size:1rem;padding:.5rem 1.25rem;margin-right:.75rem}</style></head><body>${body}</body></html>`;
}

export function consentPage(view: ConsentView): string {
  const action = `/oauth/interaction/${encodeURIComponent(view.uid)}/consent`;
  return page(
    'Allow access?',
    `<h1>Allow access?</h1>
<p><strong id="client">${escape(clientLabel(view))}</strong> wants to search the Amazon Q index
<strong id="application">${escape(view.application)}</strong> as <strong id="user">${escape(view.user)}</strong>.</p>
<p>It can then run the searches you could run yourself, until you revoke it or the sign-in ends.</p>
<form method="post" action="${escape(action)}">
<button type="submit" id="allow" name="decision" value="allow">Allow</button>
<button type="submit" id="deny" name="decision" value="deny">Deny</button>
</form>`,
  );
}

export function errorPage(message: string): string {
  return page('Sign-in failed', `<h1>Sign-in failed</h1><p id="error">${escape(message)}</p>`);
}
