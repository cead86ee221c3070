/**
 * @module The credentials stage (bearer mode, tool calls): exchanges or reuses the user's AWS credentials
 * before the call, so an assertion IdC refuses as reused becomes 401 invalid_token (the client fetches a
 * fresh token) and any other failed exchange becomes the tool call's error result, not a transport error.
 */
import { renderError } from '../../../errors.js';
import { isReusedAssertion } from '../../../identity/index.js';
import type { Logger } from '../../../log.js';
import { HttpError } from '../http-error.js';
import { wantsCredentials } from '../jsonrpc.js';
import { reusedToken, type Principal } from './auth.js';

/** True when this request runs under the user's own credentials (a tool call in bearer mode). */
export const needsCredentials = (principal: Principal, body: unknown) =>
  !!principal.credentials && wantsCredentials(body);

export function warmCredentials(options: { logger: Logger; resource: string }) {
  return async (principal: Principal): Promise<void> => {
    try {
      await principal.credentials?.();
    } catch (e) {
      if (isReusedAssertion(e)) throw reusedToken(options.resource);
      // The remote user reads what they can act on; the detail goes to the log under a reference id.
      const shown = renderError(e, { audience: 'remote', logger: options.logger });
      throw new HttpError(403, shown.text, { asToolResult: true, cause: e });
    }
  };
}
