/**
 * configuredResourceMissing (errors.ts): which ResourceNotFoundException is the configuration's fault.
 * AWS names the missing resource by resourceId, or only by resourceType; either way only the configured
 * application, retriever or index counts. The sandbox round trip is in test/mcp/configured-ids.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../config/schema.js';
import { QindexError } from '../errors.js';
import { configuredResourceMissing, toQindexError } from './errors.js';

const config = ConfigSchema.parse({
  profile: 'work',
  idp: { issuer: 'https://idp.example.com', clientId: 'qindex-mcp' },
  mode: {
    type: 'iam-federation',
    roleArn: 'arn:aws:iam::111111111111:role/QIndexMcpWebIdentityRole',
  },
  q: {
    region: 'us-east-1',
    applicationId: 'a1b2c3d4-5678-90ab-cdef-111111111111',
    retrieverId: 'ret00000-0000-4000-8000-000000000001',
  },
});

/** A ResourceNotFoundException as the qbusiness client throws it, mapped as retry.ts would. */
const notFound = (members: { resourceId?: string; resourceType?: string }, message = 'Not found.') =>
  toQindexError(
    Object.assign(new Error(message), {
      name: 'ResourceNotFoundException',
      $fault: 'client',
      $metadata: { httpStatusCode: 404 },
      ...members,
    }),
    'SearchRelevantContent',
  );

describe('configuredResourceMissing', () => {
  it('by resourceId: the configured retriever', () => {
    const e = configuredResourceMissing(
      notFound({ resourceId: config.q.retrieverId, resourceType: 'Retriever' }),
      'SearchRelevantContent',
      config,
    );
    expect(e).toBeInstanceOf(QindexError);
    expect(e?.code).toBe('config_invalid');
    expect(e?.fixBy).toBe('operator');
    expect(e?.message).toContain(`has no retriever ${config.q.retrieverId}; it comes from q.retrieverId.`);
  });

  it('by resourceType alone, in any case AWS spells it', () => {
    const e = configuredResourceMissing(notFound({ resourceType: 'APPLICATION' }), 'ChatSync', config);
    expect(e?.message).toContain(`there is no Amazon Q Business application ${config.q.applicationId}`);
    // No index configured: an index AWS misses is not the configuration's.
    expect(configuredResourceMissing(notFound({ resourceType: 'Index' }), 'GetDocumentContent', config)).toBe(
      undefined,
    );
  });

  it('leaves ids the user passed, and other errors, to toQindexError', () => {
    const conversation = notFound({
      resourceId: 'c0000000-0000-4000-8000-00000000dead',
      resourceType: 'Conversation',
    });
    expect(configuredResourceMissing(conversation, 'ListMessages', config)).toBe(undefined);
    // An id that happens to read "application" in its type but is not the configured one: still not ours.
    expect(
      configuredResourceMissing(
        notFound({ resourceId: 'other', resourceType: 'Application' }),
        'ChatSync',
        config,
      ),
    ).toBe(undefined);
    const denied = toQindexError(
      Object.assign(new Error('denied'), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 403 },
      }),
      'ChatSync',
    );
    expect(configuredResourceMissing(denied, 'ChatSync', config)).toBe(undefined);
  });
});
