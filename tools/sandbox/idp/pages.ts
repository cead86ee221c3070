/**
 * @module The sandbox IdP's HTML pages: login form, device user-code entry and confirmation,
 * success and error pages. Plain forms with no scripts or external assets, so they work in a
 * headless browser without network and are easy to script with fetch.
 */

export const escapeHtml = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}
input{display:block;width:100%;margin:.3rem 0 .8rem;padding:.5rem;box-sizing:border-box}
button{padding:.5rem 1.2rem}.error{color:#b00020}code{font-size:1.4em}
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>`;
}

export function loginPage(opts: { uid: string; clientId: string; login?: string; error?: string }): string {
  const error = opts.error ? `<p class="error" id="error">${escapeHtml(opts.error)}</p>` : '';
  return page(
    'Sign in to the sandbox IdP',
    `<p>Application <strong>${escapeHtml(opts.clientId)}</strong> asks you to sign in.</p>
${error}
<form method="post" action="/interaction/${encodeURIComponent(opts.uid)}/login" autocomplete="off">
<label>Username <input name="login" id="login" value="${escapeHtml(opts.login ?? '')}" required autofocus></label>
<label>Password <input name="password" id="password" type="password" required></label>
<button type="submit" id="submit">Sign in</button>
</form>`,
  );
}

/** oidc-provider passes its own `<form id="op.deviceInputForm">` with the hidden xsrf field. */
export function userCodeInputPage(form: string, error?: string): string {
  const msg = error
    ? `<p class="error" id="error">${escapeHtml(error)}</p>`
    : '<p>Enter the code shown on your device.</p>';
  return page(
    'Connect a device',
    `${msg}
${form}
<button type="submit" form="op.deviceInputForm" id="submit">Continue</button>`,
  );
}

export function userCodeConfirmPage(form: string, clientId: string, userCode: string): string {
  return page(
    'Confirm the device',
    `<p><strong>${escapeHtml(clientId)}</strong> wants to sign in. Check that your device shows this code:</p>
<p><code id="user-code">${escapeHtml(userCode)}</code></p>
${form}
<button type="submit" form="op.deviceConfirmForm" id="confirm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes" id="abort">Abort</button>`,
  );
}

export function successPage(clientId: string): string {
  return page(
    'Sign-in complete',
    `<p id="success">Your sign-in with <strong>${escapeHtml(clientId)}</strong> succeeded. You can close this page.</p>`,
  );
}

export function errorPage(out: Record<string, unknown>): string {
  const rows = Object.entries(out)
    .map(([k, v]) => `<p><strong>${escapeHtml(k)}</strong>: ${escapeHtml(String(v))}</p>`)
    .join('\n');
  return page('Something went wrong', rows);
}
