/**
 * @module What a terminal shows for a device sign-in, from the structured start (src/auth/device.ts): the
 * URL and the code, the complete URL and its QR code, and how long the wait really lasts (the code's
 * lifetime or --timeout, whichever is shorter).
 */
import qrcode from 'qrcode-terminal';
import type { DeviceLoginStart } from '../auth/index.js';

type Shown = Pick<
  DeviceLoginStart<unknown>,
  'verificationUri' | 'verificationUriComplete' | 'userCode' | 'expiresIn' | 'boundBy'
>;

export function deviceInstructions(start: Shown, options: { qr: boolean }): string {
  let text = `\nTo sign in, open ${start.verificationUri}\nand enter the code: ${start.userCode}\n`;
  const complete = start.verificationUriComplete;
  if (complete) {
    text += `\nOr open ${complete}`;
    // qrcode-terminal calls back synchronously.
    if (options.qr) qrcode.generate(complete, { small: true }, (code) => (text += ` or scan:\n${code}`));
    text += '\n';
  }
  const bound =
    start.boundBy === 'timeout'
      ? `--timeout ends the wait in ${duration(start.expiresIn)}`
      : `the code expires in ${duration(start.expiresIn)}`;
  return `${text}\nWaiting for approval (${bound}; Ctrl-C to stop)…\n`;
}

/** "45 s" below two minutes, else whole minutes. */
export const duration = (seconds: number) =>
  seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
