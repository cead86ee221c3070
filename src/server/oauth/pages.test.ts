import { describe, expect, it } from 'vitest';
import { clientLabel, consentPage } from './pages.js';

describe('consent page', () => {
  it('names a metadata-document client with its host, a registered one as self-asserted, a configured one as is', () => {
    expect(
      clientLabel({
        kind: 'metadata-document',
        clientId: 'https://vscode.dev/oauth/client-metadata.json',
        clientName: 'VS Code',
      }),
    ).toBe('VS Code (from vscode.dev)');
    expect(clientLabel({ kind: 'registered', clientId: 'abc', clientName: 'Claude' })).toContain(
      'not verified',
    );
    expect(clientLabel({ kind: 'configured', clientId: 'cursor', clientName: 'Cursor' })).toBe('Cursor');
  });

  it('escapes what the client chose, and has the allow and deny buttons', () => {
    const html = consentPage({
      uid: 'u1',
      clientId: 'abc',
      clientName: '<script>alert(1)</script>',
      kind: 'registered',
      user: 'alice@example.com',
      application: 'app-123',
    });
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('id="allow"');
    expect(html).toContain('id="deny"');
    expect(html).toContain('app-123');
    expect(html).toContain('action="/oauth/interaction/u1/consent"');
  });
});
