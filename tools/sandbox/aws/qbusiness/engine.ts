/**
 * @module The relevance engine behind SearchRelevantContent and chat: the corpus split into passages,
 * a BM25+ index (minisearch) built once per process, document ACLs applied before ranking, attribute
 * filters, and confidence buckets.
 */
import MiniSearch from 'minisearch';
import { LRUCache } from 'lru-cache';
import { corpus, type CorpusDocument } from '../../corpus/index.js';
import type { QApplication, World } from '../../world.js';
import { matches, type Filter } from './filter.js';

/** Who is asking, as the session's identity says. */
export interface Principal {
  userId: string;
  email: string;
  /** Directory groups (IdC); empty for IAM federation, where Q's own group store is used. */
  groups: string[];
}

export type ScoreConfidence = 'VERY_HIGH' | 'HIGH' | 'MEDIUM' | 'LOW' | 'NOT_AVAILABLE';

export interface Passage {
  id: number;
  doc: CorpusDocument;
  docIndex: number;
  /** Position of the passage in its document. */
  ordinal: number;
  text: string;
  /** The passage's RelevantContent JSON without scoreAttributes, serialized once (responses repeat it). */
  wire?: string;
}

export interface Hit {
  passage: Passage;
  score: number;
  confidence: ScoreConfidence;
}

const STOP_WORDS = new Set(
  (
    'a an and are as at be by can do does for from has have how i if in is it its me my of on or our should ' +
    'so that the their there this to was we what when where which who why will with you your about any all ' +
    'tell please much many get need know'
  ).split(' '),
);

/** A light suffix stemmer: enough that "limits" finds "limit" and "policies" finds "policy". */
function stem(w: string): string {
  if (w.length > 4 && w.endsWith('ies')) return `${w.slice(0, -3)}y`;
  if (w.length > 4 && /(ss|x|ch|sh)es$/.test(w)) return w.slice(0, -2);
  if (w.length > 3 && w.endsWith('s') && !/(ss|us|is)$/.test(w)) return w.slice(0, -1);
  return w;
}

export function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}&$]+/u)
    .filter(Boolean);
}

export function processTerm(term: string): string | null {
  const t = term.toLowerCase();
  if (STOP_WORDS.has(t)) return null;
  return stem(t);
}

interface Index {
  passages: Passage[];
  search: MiniSearch<{ id: number; title: string; text: string }>;
}

let index: Index | undefined;

/** Splits every document into paragraph passages and indexes them (once per process: the corpus is fixed). */
function buildIndex(): Index {
  const passages: Passage[] = [];
  corpus().forEach((doc, docIndex) => {
    doc.body.forEach((text, ordinal) => passages.push({ id: passages.length, doc, docIndex, ordinal, text }));
  });
  const search = new MiniSearch<{ id: number; title: string; text: string }>({
    fields: ['title', 'text'],
    tokenize,
    processTerm,
    searchOptions: { boost: { title: 1.5 }, combineWith: 'OR' },
  });
  search.addAll(passages.map((p) => ({ id: p.id, title: p.doc.title, text: p.text })));
  return { passages, search };
}

export interface Engine {
  documents: CorpusDocument[];
  /** Whether the principal may see the document in this application (index membership and ACL). */
  canSee(app: QApplication, principal: Principal, doc: CorpusDocument): boolean;
  findDocument(app: QApplication, documentId: string): CorpusDocument | undefined;
  /** Every permitted passage matching the query (and the filter), best first, in a stable order. */
  search(app: QApplication, principal: Principal, queryText: string, filter?: Filter): Hit[];
}

export function createEngine(world: World): Engine {
  index ??= buildIndex();
  const { passages, search } = index;
  const documents = corpus();
  // IAM federation has no directory groups: Q's own group store (loaded by admins with PutGroup) maps
  // group names to member emails. The sandbox's store holds the world's users.
  const groupStore = new Map(world.users.map((u) => [u.email.toLowerCase(), u.groups]));
  const permittedCache = new Map<string, Uint8Array>();
  // Results are immutable (fixed corpus, fixed ACLs): pages of one query and repeated questions reuse them.
  const results = new LRUCache<string, Hit[]>({ max: 500 });

  const canSee = (app: QApplication, principal: Principal, doc: CorpusDocument): boolean => {
    if (doc.applications && !doc.applications.includes(app.applicationId)) return false;
    const { acl } = doc;
    if (acl.everyone) return true;
    const email = principal.email.toLowerCase();
    if (acl.users?.some((u) => u.toLowerCase() === email)) return true;
    const groups = app.identityType === 'AWS_IAM_IDP_OIDC' ? (groupStore.get(email) ?? []) : principal.groups;
    return !!acl.groups?.some((g) => groups.includes(g));
  };

  /** One flag per document; cached per (application, user, groups) since ACLs never change. */
  const permitted = (app: QApplication, principal: Principal): Uint8Array => {
    const key = `${app.applicationId}\n${principal.email.toLowerCase()}\n${principal.groups.join(',')}`;
    let flags = permittedCache.get(key);
    if (!flags) {
      flags = Uint8Array.from(documents, (d) => (canSee(app, principal, d) ? 1 : 0));
      if (permittedCache.size > 1000) permittedCache.clear();
      permittedCache.set(key, flags);
    }
    return flags;
  };

  return {
    documents,
    canSee,
    findDocument: (app, documentId) =>
      documents.find(
        (d) => d.id === documentId && (!d.applications || d.applications.includes(app.applicationId)),
      ),
    search(app, principal, queryText, filter) {
      const allowed = permitted(app, principal);
      const key = `${app.applicationId}\n${principal.email}\n${principal.groups.join(',')}\n${queryText}\n${filter ? JSON.stringify(filter) : ''}`;
      let hits = results.get(key);
      if (!hits) {
        hits = rank(
          queryText,
          (p) => allowed[p.docIndex] === 1 && (!filter || matches(filter, p.doc.attributes)),
        );
        results.set(key, hits);
      }
      return hits;
    },
  };

  function rank(queryText: string, keep: (p: Passage) => boolean): Hit[] {
    // ACLs (and attribute filters) are applied inside the search, before results are ranked and cut.
    const found = search.search(queryText, { filter: (r) => keep(passages[r.id as number]!) });
    if (found.length === 0) return [];
    const wanted =
      new Set(
        tokenize(queryText)
          .map(processTerm)
          .filter((t): t is string => !!t),
      ).size || 1;
    const top = found[0]!.score;
    return found
      .map((r) => ({ r, p: passages[r.id as number]! }))
      .sort((a, b) => b.r.score - a.r.score || a.p.id - b.p.id)
      .map(({ r, p }) => ({
        passage: p,
        score: r.score,
        confidence: bucket(r.score / top, new Set(r.queryTerms).size / wanted),
      }));
  }
}

/** Confidence from the score relative to the best hit and the share of query terms the passage matched. */
function bucket(relative: number, coverage: number): ScoreConfidence {
  if (relative >= 0.75 && coverage >= 0.75) return 'VERY_HIGH';
  if (relative >= 0.5) return 'HIGH';
  if (relative >= 0.25) return 'MEDIUM';
  return 'LOW';
}
