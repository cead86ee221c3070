/** @module Unit tests of the device sign-in text: URL, code, QR code, and the wait's real bound. */
import { describe, expect, it } from 'vitest';
import { deviceInstructions, duration } from './device-instructions.js';

const start = {
  verificationUri: 'https://idp.example.com/device',
  verificationUriComplete: 'https://idp.example.com/device?user_code=WDJB-MJHT',
  userCode: 'WDJB-MJHT',
  expiresIn: 600,
  boundBy: 'code' as const,
};

describe('deviceInstructions', () => {
  it('shows the URL, the code, the complete URL with its QR code, and the code lifetime', () => {
    const text = deviceInstructions(start, { qr: true });
    expect(text).toContain(
      'To sign in, open https://idp.example.com/device\nand enter the code: WDJB-MJHT\n',
    );
    expect(text).toContain('Or open https://idp.example.com/device?user_code=WDJB-MJHT or scan:\n');
    expect(text).toContain('▄');
    expect(text).toContain('(the code expires in 10 min; Ctrl-C to stop)');
  });

  it('says the time limit when --timeout is shorter than the code lifetime', () => {
    const text = deviceInstructions({ ...start, expiresIn: 5, boundBy: 'timeout' }, { qr: false });
    expect(text).toContain('(--timeout ends the wait in 5 s; Ctrl-C to stop)');
    expect(text).not.toContain('min');
    expect(text).not.toContain('▄');
  });

  it('leaves out the complete URL when the IdP gives none', () => {
    const { verificationUriComplete: _, ...plain } = start;
    expect(deviceInstructions(plain, { qr: true })).not.toContain('Or open');
  });
});

describe('duration', () => {
  it('counts seconds below two minutes, then minutes', () => {
    expect([duration(5), duration(119), duration(120), duration(1799)]).toEqual([
      '5 s',
      '119 s',
      '2 min',
      '30 min',
    ]);
  });
});
