/**
 * @module Every operation the AWS emulator serves names its request in `x-amzn-RequestId`, success or
 * not, as AWS does: read back through the unmodified SDK clients' `$metadata.requestId`.
 */
import { describe, expect, it } from 'vitest';
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import { CreateTokenWithIAMCommand, SSOOIDCClient } from '@aws-sdk/client-sso-oidc';
import {
  ChatCommand,
  ChatSyncCommand,
  DeleteConversationCommand,
  GetDocumentContentCommand,
  ListConversationsCommand,
  ListMessagesCommand,
  PutFeedbackCommand,
  SearchRelevantContentCommand,
  type ChatInputStream,
} from '@aws-sdk/client-qbusiness';
import type { ResponseMetadata } from '@smithy/types';
import { useSandbox } from '../helpers/sandbox.js';
import { sessionFor } from '../helpers/credentials.js';
import { mintIdToken } from '../../tools/sandbox/idp/mint.js';
import { IDENTITY_CENTER_CONTEXT_PROVIDER, findUser } from '../../tools/sandbox/world.js';

const sandbox = useSandbox();
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Named = { $metadata: ResponseMetadata };

async function* oneTurn(userMessage: string): AsyncIterable<ChatInputStream> {
  yield { textEvent: { userMessage } };
  yield { endOfInputEvent: {} };
}

describe('x-amzn-RequestId', () => {
  it('is on the success response of every operation (STS, sso-oidc, Q Business)', async () => {
    const sb = sandbox();
    const d = sb.description;
    const ids: Record<string, string | undefined> = {};
    const record = async <T extends Named>(name: string, call: Promise<T>): Promise<T> => {
      const out = await call;
      ids[name] = out.$metadata.requestId;
      return out;
    };
    const endpoint = d.awsEndpoint;
    const idc = d.modes.idc;
    const sts = (credentials?: typeof idc.baseCredentials) =>
      new STSClient({
        endpoint,
        region: 'us-east-1',
        maxAttempts: 1,
        ...(credentials ? { credentials } : {}),
      });

    await record('sts:GetCallerIdentity', sts(idc.baseCredentials).send(new GetCallerIdentityCommand({})));
    const fed = d.modes.iamFederation;
    const webToken = await mintIdToken(sb.world.issuer, sb.keys, findUser(sb.world, 'dave')!, {
      audience: fed.clientId,
    });
    await record(
      'sts:AssumeRoleWithWebIdentity',
      sts().send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: fed.roleArn,
          RoleSessionName: 'dave',
          WebIdentityToken: webToken,
        }),
      ),
    );
    const oidc = new SSOOIDCClient({
      endpoint,
      region: idc.idcRegion,
      credentials: idc.baseCredentials,
      maxAttempts: 1,
    });
    const assertion = await mintIdToken(sb.world.issuer, sb.keys, findUser(sb.world, 'carol')!, {
      audience: idc.clientId,
    });
    const token = await record(
      'sso-oauth:CreateTokenWithIAM (jwt-bearer)',
      oidc.send(
        new CreateTokenWithIAMCommand({ clientId: idc.idcApplicationArn, grantType: JWT_BEARER, assertion }),
      ),
    );
    await record(
      'sso-oauth:CreateTokenWithIAM (refresh_token)',
      oidc.send(
        new CreateTokenWithIAMCommand({
          clientId: idc.idcApplicationArn,
          grantType: 'refresh_token',
          refreshToken: token.refreshToken,
        }),
      ),
    );
    const context = (
      JSON.parse(Buffer.from(token.idToken!.split('.')[1]!, 'base64url').toString()) as Record<string, string>
    )['sts:identity_context']!;
    await record(
      'sts:AssumeRole',
      sts(idc.baseCredentials).send(
        new AssumeRoleCommand({
          RoleArn: idc.roleArn,
          RoleSessionName: 'carol',
          ProvidedContexts: [{ ProviderArn: IDENTITY_CENTER_CONTEXT_PROVIDER, ContextAssertion: context }],
        }),
      ),
    );

    const carol = await sessionFor(sb, 'carol', 'idc');
    const applicationId = carol.applicationId;
    await record(
      'qbusiness:SearchRelevantContent',
      carol.q.send(
        new SearchRelevantContentCommand({
          applicationId,
          queryText: 'travel reimbursement limit',
          contentSource: { retriever: { retrieverId: carol.retrieverId } },
        }),
      ),
    );
    const turn = await record(
      'qbusiness:ChatSync',
      carol.q.send(new ChatSyncCommand({ applicationId, userMessage: 'travel reimbursement limit' })),
    );
    const conversationId = turn.conversationId!;
    const streamed = await record(
      'qbusiness:Chat',
      carol.q.send(
        new ChatCommand({ applicationId, conversationId, inputStream: oneTurn('relocation allowance') }),
      ),
    );
    for await (const _ of streamed.outputStream!) void _;
    await record(
      'qbusiness:ListConversations',
      carol.q.send(new ListConversationsCommand({ applicationId })),
    );
    await record(
      'qbusiness:ListMessages',
      carol.q.send(new ListMessagesCommand({ applicationId, conversationId })),
    );
    await record(
      'qbusiness:PutFeedback',
      carol.q.send(
        new PutFeedbackCommand({
          applicationId,
          conversationId,
          messageId: turn.systemMessageId,
          messageUsefulness: { usefulness: 'USEFUL', submittedAt: new Date() },
        }),
      ),
    );
    await record(
      'qbusiness:GetDocumentContent',
      carol.q.send(
        new GetDocumentContentCommand({
          applicationId,
          indexId: carol.indexId,
          documentId: 'policy-travel-and-expense',
        }),
      ),
    );
    await record(
      'qbusiness:DeleteConversation',
      carol.q.send(new DeleteConversationCommand({ applicationId, conversationId })),
    );

    const missing = Object.entries(ids).filter(([, id]) => !id || !UUID.test(id));
    expect(missing).toEqual([]);
    expect(Object.keys(ids)).toHaveLength(13);
    expect(new Set(Object.values(ids)).size).toBe(13);
  });

  it('is on errors too, whichever layer refuses (SigV4, the service, validation)', async () => {
    const d = sandbox().description;
    const idc = d.modes.idc;
    const fail = (call: Promise<unknown>) =>
      call.then(
        () => undefined,
        (e: Named) => e.$metadata.requestId,
      );
    const wrongKey = { ...idc.baseCredentials, secretAccessKey: 'wrong' };
    const errors = await Promise.all([
      fail(
        new STSClient({ endpoint: d.awsEndpoint, region: 'us-east-1', credentials: wrongKey }).send(
          new GetCallerIdentityCommand({}),
        ),
      ),
      fail(
        new SSOOIDCClient({
          endpoint: d.awsEndpoint,
          region: idc.idcRegion,
          credentials: idc.baseCredentials,
        }).send(
          new CreateTokenWithIAMCommand({
            clientId: idc.idcApplicationArn,
            grantType: JWT_BEARER,
            assertion: 'x.y.z',
          }),
        ),
      ),
      fail(
        (await sessionFor(sandbox(), 'bob', 'idc')).q.send(
          new ListMessagesCommand({
            applicationId: idc.applicationId,
            conversationId: '00000000-0000-4000-8000-000000000000',
          }),
        ),
      ),
    ]);
    for (const id of errors) expect(id).toMatch(UUID);
  });
});
