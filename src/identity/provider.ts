/**
 * @module The credential provider types every layer passes around (identity builds them, the Q client
 * and the HTTP transport's shared cache use them): one definition, as `@smithy/types` has for the SDK.
 */
import type { AwsCredentialIdentity } from '@smithy/types';
import type { QindexConfig } from '../config/schema.js';

export type { AwsCredentialIdentity } from '@smithy/types';

/** An AWS SDK v3 credential provider as a factory returns it: no cache of its own. */
export type CredentialSource = (options?: { forceRefresh?: boolean }) => Promise<AwsCredentialIdentity>;

/** Who the credentials act for, without any secret. */
export interface ActingIdentity {
  mode: QindexConfig['mode']['type'];
  subject?: string;
  email?: string;
  issuer?: string;
}

/** A memoized provider (memoize.ts): the only cache of its credentials, so `invalidate` reaches every caller. */
export interface MemoizedCredentials {
  (options?: { forceRefresh?: boolean }): Promise<AwsCredentialIdentity>;
  /**
   * Tells the AWS SDK that this function is its own cache: the SDK then calls it on every request
   * instead of wrapping it in a second cache that `invalidate()` could not reach.
   */
  readonly memoized: true;
  /**
   * Drops the cached credentials so the next call fetches again. With `stale`, only when the cache
   * still holds those credentials: fifty callers that saw the same expired session cause one fetch.
   */
  invalidate(stale?: Pick<AwsCredentialIdentity, 'accessKeyId'>): void;
}

/** The provider the Q client signs with: memoized, and says whom its credentials act for. */
export interface CredentialProvider extends MemoizedCredentials {
  /** Who the current credentials act for; undefined before the first fetch. */
  identity(): ActingIdentity | undefined;
}
