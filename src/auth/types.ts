/**
 * @module The sign-in layer's shapes: what the token store keeps, what `whoami` shows, and the
 * slice of the configuration sign-in reads.
 */
import type { QindexConfig } from '../config/schema.js';

/** The part of the configuration sign-in needs; a full QindexConfig satisfies it. */
export type SignInConfig = Pick<QindexConfig, 'profile' | 'idp' | 'tokenStore'>;

export type StoreKind = 'keychain' | 'file' | 'memory' | 'env';

/** What a store keeps per profile: the refresh token and who it belongs to. Never ID tokens or AWS keys. */
export interface StoredLogin {
  refreshToken: string;
  issuer: string;
  clientId: string;
  subject: string;
  email?: string;
  /** When the refresh token stops working, if the IdP said (ISO 8601). */
  expiresAt?: string;
  scope?: string;
  /** When this entry was last written (ISO 8601). */
  updatedAt: string;
}

/** What `whoami` and `current()` report: never a token. */
export interface LoginInfo {
  profile: string;
  issuer: string;
  clientId: string;
  subject: string;
  email?: string;
  expiresAt?: string;
  updatedAt?: string;
  /** Which store holds the login, and where (a file path, a keychain service). */
  store: StoreKind;
  location: string;
}

export interface TokenStore {
  kind: StoreKind;
  /** A human-readable place: a file path, "keychain service qindex-mcp", "memory". */
  location(profile: string): string;
  read(profile: string): Promise<StoredLogin | undefined>;
  write(profile: string, login: StoredLogin): Promise<void>;
  /** True when something was removed. */
  remove(profile: string): Promise<boolean>;
  /** File store only: moves a damaged entry aside (kept, never overwritten silently); returns where. */
  setAside?(profile: string): Promise<string>;
  /**
   * File store only, under the profile's lock: puts in place a newer entry that a killed writer left in a
   * temp file, and removes the other temp files.
   */
  recover?(profile: string): Promise<{ recovered: boolean; removed: number }>;
}

export interface LoginResult {
  info: LoginInfo;
}
