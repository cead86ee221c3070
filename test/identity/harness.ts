/**
 * @module Shared setup for identity tests: a signed-in profile (a real refresh token from the sandbox
 * IdP, redeemed by src/auth's sign-in on every exchange), the mode's base credentials, a provider,
 * and readers for the emulator's call counters.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { QBusinessClient, SearchRelevantContentCommand } from '@aws-sdk/client-qbusiness';
import type { AwsCredentialIdentity } from '@smithy/types';
import { openSignIn } from '../../src/auth/index.js';
import type { QindexConfig } from '../../src/config/schema.js';
import { createCredentialProvider, type CredentialProviderDeps } from '../../src/identity/index.js';
import { createLogger } from '../../src/log.js';
import { controlClient, type ControlClient } from '../../tools/sandbox/control-client.js';
import type { Sandbox } from '../../tools/sandbox/index.js';
import { configFor, type ConfigOverrides, type SandboxMode } from '../helpers/config.js';

export const silent = createLogger({ level: 'silent' });

export function baseCredentialsFor(sb: Sandbox, mode: SandboxMode) {
  const m = mode === 'data-accessor' ? sb.description.modes.dataAccessor : sb.description.modes.idc;
  return { ...m.baseCredentials };
}

export interface SignedIn {
  config: QindexConfig;
  control: ControlClient;
  freshIdToken: () => Promise<string>;
  provider: ReturnType<typeof createCredentialProvider>;
}

/** A profile signed in as `username` through the sandbox IdP, and a credential provider over it. */
export async function signedIn(
  sb: Sandbox,
  mode: SandboxMode,
  username: string,
  options: { overrides?: ConfigOverrides; deps?: Partial<CredentialProviderDeps> } = {},
): Promise<SignedIn> {
  const control = controlClient(sb.description.control);
  const config = configFor(sb.description, mode, options.overrides);
  const refreshToken = await control.mintRefreshToken({ username, clientId: config.idp.clientId });
  const env = {
    QINDEX_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'qindex-id-')),
    QINDEX_REFRESH_TOKEN: refreshToken,
  };
  const signIn = openSignIn(config, { logger: silent, env });
  const freshIdToken = () => signIn.freshIdToken();
  const provider = createCredentialProvider(config, {
    freshIdToken,
    logger: silent,
    baseCredentials: baseCredentialsFor(sb, mode),
    ...options.deps,
  });
  return { config, control, freshIdToken, provider };
}

export async function callerArn(config: QindexConfig, credentials: AwsCredentialIdentity): Promise<string> {
  const sts = new STSClient({ region: config.q.region, endpoint: config.aws.endpoint, credentials });
  try {
    return (await sts.send(new GetCallerIdentityCommand({}))).Arn ?? '';
  } finally {
    sts.destroy();
  }
}

export async function search(config: QindexConfig, credentials: AwsCredentialIdentity, queryText: string) {
  const q = new QBusinessClient({ region: config.q.region, endpoint: config.aws.endpoint, credentials });
  try {
    return await q.send(
      new SearchRelevantContentCommand({
        applicationId: config.q.applicationId,
        queryText,
        contentSource: { retriever: { retrieverId: config.q.retrieverId } },
      }),
    );
  } finally {
    q.destroy();
  }
}

/** Counter deltas since `before`, for the operations named. */
export async function countersSince(control: ControlClient, before: Record<string, number>) {
  const now = await control.counters();
  const delta: Record<string, number> = {};
  for (const [k, v] of Object.entries(now)) delta[k] = v - (before[k] ?? 0);
  return delta;
}
