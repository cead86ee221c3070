/**
 * @module search_relevant_content's nextToken: Q's own token wrapped with how many passages the earlier
 * pages showed, so that citation numbers run on ([11] after a page of ten, never [1] again), and a hash
 * of the query and filter it continues, so that reusing it for another search says so. Not signed and
 * not secret: a forged count only renumbers citations (it is bounded), and Q still checks its own token.
 */
import { createHash } from 'node:crypto';
import { ErrorCode, QindexError } from '../errors.js';
import type { AttributeFilterInput } from '../q/client.js';

/** Q's NextToken: 1–800 characters (the service model's bound). */
export const Q_TOKEN_MAX = 800;
const VERSION = 'p1';
const HASH_CHARS = 12;
const MAX_COUNT_DIGITS = 6;
/** Our wrapper's longest form, `p1.999999.<12 hash chars>.` plus Q's token. */
export const PAGE_TOKEN_MAX = Q_TOKEN_MAX + VERSION.length + MAX_COUNT_DIGITS + HASH_CHARS + 3;

const TOKEN = new RegExp(
  `^${VERSION}\\.(0|[1-9]\\d{0,${MAX_COUNT_DIGITS - 1}})\\.([\\w-]{${HASH_CHARS}})\\.([\\s\\S]{1,${Q_TOKEN_MAX}})$`,
);

/** What a page continues: the same query and filter. */
export interface SearchKey {
  query: string;
  attributeFilter?: AttributeFilterInput | undefined;
}

export interface PageToken {
  /** Q's own nextToken. */
  qToken: string;
  /** Passages the earlier pages showed: this page's first citation is [shown + 1]. */
  shown: number;
}

/** The nextToken to show for the page after one that brought the count of passages to `shown`. */
export function wrapPageToken(key: SearchKey, page: PageToken): string {
  const shown = Math.min(page.shown, 10 ** MAX_COUNT_DIGITS - 1);
  return `${VERSION}.${shown}.${searchHash(key)}.${page.qToken}`;
}

/** Q's token and the count inside `token`; a QindexError naming what is wrong with it otherwise. */
export function unwrapPageToken(key: SearchKey, token: string): PageToken {
  const match = TOKEN.exec(token);
  if (!match) {
    throw new QindexError(
      ErrorCode.InvalidNextToken,
      'nextToken is not one that search_relevant_content returned (it may have been shortened or edited).',
      {
        remedy:
          'Pass the nextToken of the previous search_relevant_content result exactly as given, or omit it to start from the first page.',
      },
    );
  }
  const [, count, hash, qToken] = match;
  if (hash !== searchHash(key)) {
    throw new QindexError(
      ErrorCode.InvalidNextToken,
      'nextToken continues a different search: it came from a call with another query or attributeFilter.',
      {
        remedy:
          'Repeat the query and attributeFilter of the search that returned this nextToken, or omit nextToken to start this new search from the first page.',
      },
    );
  }
  return { qToken: qToken!, shown: Number(count) };
}

/** A short hash of the query and filter; key order in the filter does not matter. */
function searchHash(key: SearchKey): string {
  return createHash('sha256')
    .update(canonicalJson([key.query, key.attributeFilter ?? null]))
    .digest('base64url')
    .slice(0, HASH_CHARS);
}

/** JSON with object keys sorted, so that equal filters hash alike. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
