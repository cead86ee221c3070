/**
 * @module `createCredentialProvider(config, deps)`: the signed-in user's AWS credentials for the
 * configured mode, as an AWS SDK v3 `credentials` provider. Memoized (one exchange at a time, renewed
 * before expiry), with the one automatic recovery that belongs here: an assertion refused as reused
 * is retried once with a fresh ID token. Throttling is retried, bounded, by the SDK clients.
 */
import type { QindexConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { metrics } from '../telemetry/metrics.js';
import { errorType } from '../telemetry/trace.js';
import type { BaseCredentials, StepEvent } from './chain.js';
import { createDataAccessorExchange, type IdcLogin } from './data-accessor.js';
import { createIamFederationExchange } from './iam-federation.js';
import { createIdcExchange, type Exchange } from './idc.js';
import { createIdcBrowserLogin } from './idc-login.js';
import { isReusedAssertion } from './errors.js';
import { memoizeCredentials } from './memoize.js';
import type { ActingIdentity, CredentialProvider } from './provider.js';

export type { BaseCredentials, StepEvent } from './chain.js';
export type { AuthCodeGrant, IdcLogin } from './data-accessor.js';
export type { ExchangeStep } from './errors.js';
export { createIdcBrowserLogin, idcAuthorizeEndpoint } from './idc-login.js';
export { isExpiredCredentials, isReusedAssertion } from './errors.js';
export { memoizeCredentials, refreshAt, type FetchOptions, type MemoizeOptions } from './memoize.js';
export type {
  ActingIdentity,
  AwsCredentialIdentity,
  CredentialProvider,
  CredentialSource,
  MemoizedCredentials,
} from './provider.js';

export interface CredentialProviderDeps {
  /** A brand-new ID token for every exchange (sign-in's refresh grant); never a cached one. */
  freshIdToken: () => Promise<string>;
  logger: Logger;
  /** The app's or ISV's own AWS credentials; default: the SDK's default chain (aws.profile honoured). */
  baseCredentials?: BaseCredentials;
  /** data-accessor `auth-code`: how to get an IdC authorization code; default: a browser login. */
  idcLogin?: IdcLogin;
  /** Observes each call of the chain (doctor uses it to name the step that failed). */
  onStep?: (event: StepEvent) => void;
  /** Clock in ms, for tests of renewal; default Date.now. */
  now?: () => number;
  /** Counts this memoizer's hits and misses as the credential cache's (default); off when one wraps it. */
  cacheMetrics?: boolean;
}

export function createCredentialProvider(
  config: QindexConfig,
  deps: CredentialProviderDeps,
): CredentialProvider {
  const logger = deps.logger;
  const chain = { config, logger, freshIdToken: deps.freshIdToken, onStep: deps.onStep };
  const exchange = createExchange(config, deps, chain);
  let acting: ActingIdentity | undefined;

  const fetch = async () => {
    const started = Date.now();
    let result;
    try {
      try {
        result = await exchange();
      } catch (e) {
        if (!isReusedAssertion(e)) throw e;
        logger.warn({ mode: config.mode.type }, 'ID token refused as already used; exchanging a fresh one');
        result = await exchange();
      }
    } catch (e) {
      metrics.exchange(errorType(e));
      throw e;
    }
    metrics.exchange('ok');
    const { claims, credentials } = result;
    acting = { mode: config.mode.type, subject: claims.sub, email: claims.email, issuer: claims.iss };
    logger.debug(
      { mode: config.mode.type, ms: Date.now() - started, expiresAt: credentials.expiration?.toISOString() },
      'identity exchange done',
    );
    return credentials;
  };

  const memoized = memoizeCredentials(fetch, {
    refreshMarginSeconds: config.credentials.refreshMarginSeconds,
    observe: deps.cacheMetrics !== false,
    ...(deps.now ? { now: deps.now } : {}),
  });
  return Object.assign(memoized, { identity: () => acting });
}

function createExchange(
  config: QindexConfig,
  deps: CredentialProviderDeps,
  chain: Parameters<typeof createIdcExchange>[0],
): Exchange {
  switch (config.mode.type) {
    case 'idc':
      return createIdcExchange(chain, deps.baseCredentials);
    case 'data-accessor':
      return createDataAccessorExchange(
        { ...chain, idcLogin: deps.idcLogin ?? createIdcBrowserLogin(config) },
        deps.baseCredentials,
      );
    case 'iam-federation':
      return createIamFederationExchange(chain);
  }
}
