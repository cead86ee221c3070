/**
 * @module The titles and URIs of documents that this session's search passages and chat sources named,
 * so that get_document can head its text with what to cite: GetDocumentContent returns only the content.
 * One per MCP server, so per user session (HTTP sessions are bound to their owner); bounded in entries
 * and in the length of what each keeps.
 */
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
  // A Map in recency order (least recent first) is LRU enough, and cheap to build: the stateless HTTP
  // mode builds a server, so this, per request, and an LRUCache's construction showed in its profile.
  const cache = new Map<string, SeenDocument>();
  const touch = (id: string, doc: SeenDocument) => {
    cache.delete(id);
    cache.set(id, doc);
    if (cache.size > max) cache.delete(cache.keys().next().value!);
  };
  const cut = (s: string | undefined) => (s ? s.slice(0, MAX_TEXT) : undefined);
  return {
    note(documentId, doc) {
      if (!documentId || (!doc.title && !doc.uri)) return;
      touch(documentId, { title: cut(doc.title), uri: cut(doc.uri), dataSourceId: doc.dataSourceId });
    },
    lookup(documentId, dataSourceId) {
      const doc = cache.get(documentId);
      if (!doc) return undefined;
      touch(documentId, doc);
      if (dataSourceId && doc.dataSourceId && doc.dataSourceId !== dataSourceId) return undefined;
      return doc;
    },
  };
}
