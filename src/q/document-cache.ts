/**
 * @module The extracted text of documents read lately, so that reading a long document window by
 * window downloads and parses it about once. Bounded by size (the text's UTF-16 bytes) and short-lived;
 * every key names the user the credentials act for, so one user's entry never answers another's
 * call, and get_document still asks Q (GetDocumentContent, ACL-checked) on every call before a cached
 * text is used: a user who lost access meets the refusal, not the cache.
 */
import { LRUCache } from 'lru-cache';
import type { ActingIdentity } from '../identity/provider.js';

export interface CachedDocument {
  text: string;
  mimeType?: string;
}

export interface DocumentCacheOptions {
  /** Total size bound, bytes (default 64 MiB). */
  maxBytes?: number;
  /** How long an entry serves, ms (default 2 minutes: a reading session, within the 5-minute URL life). */
  ttlMs?: number;
}

export interface DocumentCache {
  get(key: string): CachedDocument | undefined;
  set(key: string, doc: CachedDocument): void;
}

/** Where a document's text comes from: application and index, whom the credentials act for, the document. */
export interface DocumentKeyParts {
  applicationId: string;
  indexId: string;
  identity: ActingIdentity | undefined;
  documentId: string;
  dataSourceId?: string;
}

/** The cache key, or undefined (do not cache) when the credentials do not say whom they act for. */
export function documentKey(parts: DocumentKeyParts): string | undefined {
  const who = parts.identity;
  if (!who?.subject || !who.issuer) return undefined;
  return JSON.stringify([
    parts.applicationId,
    parts.indexId,
    who.mode,
    who.issuer,
    who.subject,
    parts.dataSourceId ?? null,
    parts.documentId,
  ]);
}

const sizeOf = (doc: CachedDocument) => doc.text.length * 2 + (doc.mimeType?.length ?? 0) * 2 + 64;

export function createDocumentCache(options: DocumentCacheOptions = {}): DocumentCache {
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  // No `max`: lru-cache would preallocate that many slots; the size bound is what matters.
  const lru = new LRUCache<string, CachedDocument>({
    maxSize: maxBytes,
    // A document bigger than a quarter of the bound would evict everyone else's: not kept.
    maxEntrySize: Math.floor(maxBytes / 4),
    sizeCalculation: sizeOf,
    ttl: options.ttlMs ?? 120_000,
    ttlAutopurge: false,
  });
  return {
    get: (key) => lru.get(key),
    set: (key, doc) => {
      lru.set(key, doc);
    },
  };
}

/** The process's one cache: the HTTP transport's users share the bound, never the entries. */
export const documentCache = createDocumentCache();
