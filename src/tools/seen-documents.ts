/**
 * @module The titles and URIs of documents that this session's search passages and chat sources named,
 * so that get_document can head its text with what to cite: GetDocumentContent returns only the content.
 * One per MCP server, so per user session (HTTP sessions are bound to their owner); bounded in entries
 * and in the length of what each keeps.
 */
import { LRUCache } from 'lru-cache';

export interface SeenDocument {
  title?: string | undefined;
  uri?: string | undefined;
  dataSourceId?: string | undefined;
}

export interface SeenDocuments {
  note(documentId: string | undefined, doc: SeenDocument): void;
  /** What an earlier result said about the document (matching its dataSourceId when both are known). */
  lookup(documentId: string, dataSourceId?: string): SeenDocument | undefined;
}

const MAX_DOCUMENTS = 500;
const MAX_TEXT = 1_000;

export function createSeenDocuments(max = MAX_DOCUMENTS): SeenDocuments {
  const cache = new LRUCache<string, SeenDocument>({ max });
  const cut = (s: string | undefined) => (s ? s.slice(0, MAX_TEXT) : undefined);
  return {
    note(documentId, doc) {
      if (!documentId || (!doc.title && !doc.uri)) return;
      cache.set(documentId, { title: cut(doc.title), uri: cut(doc.uri), dataSourceId: doc.dataSourceId });
    },
    lookup(documentId, dataSourceId) {
      const doc = cache.get(documentId);
      if (!doc) return undefined;
      if (dataSourceId && doc.dataSourceId && doc.dataSourceId !== dataSourceId) return undefined;
      return doc;
    },
  };
}
