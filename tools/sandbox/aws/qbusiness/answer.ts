/**
 * @module The sandbox's "LLM": a deterministic answer composed from the best permitted passages, one
 * cited sentence group per source with `[n]` markers, and the sourceAttributions that point back.
 */
import type { QApplication } from '../../world.js';
import { processTerm, tokenize, type Engine, type Principal } from './engine.js';
import type { Filter } from './filter.js';
import type { SourceAttributionRecord } from './store.js';

export interface Answer {
  text: string;
  type: 'GROUNDED_RESPONSE' | 'RESPONSE';
  sourceAttributions: SourceAttributionRecord[];
}

const MAX_SOURCES = 3;
export const NO_ANSWER = 'I could not find any information about that in the documents you have access to.';

const sentences = (text: string) =>
  text.match(/[^.!?]+[.!?]+(\s|$)|[^.!?]+$/g)?.map((s) => s.trim()) ?? [text];

/** The one or two sentences of a passage that share the most terms with the question, in text order. */
function bestSentences(passage: string, queryTerms: Set<string>): string {
  const all = sentences(passage);
  const scored = all.map((s, i) => ({
    i,
    score: new Set(
      tokenize(s)
        .map(processTerm)
        .filter((t): t is string => !!t && queryTerms.has(t)),
    ).size,
  }));
  const picked = [...scored]
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .slice(0, 2)
    .filter((s, k) => k === 0 || s.score > 0)
    .sort((a, b) => a.i - b.i);
  return picked.map((s) => all[s.i]!).join(' ');
}

export function composeAnswer(
  engine: Engine,
  app: QApplication,
  principal: Principal,
  question: string,
  filter?: Filter,
): Answer {
  const hits = engine.search(app, principal, question, filter);
  const perDoc = new Map<string, (typeof hits)[number]>();
  for (const h of hits) {
    if (!perDoc.has(h.passage.doc.id)) perDoc.set(h.passage.doc.id, h);
    if (perDoc.size === MAX_SOURCES) break;
  }
  if (perDoc.size === 0) return { text: NO_ANSWER, type: 'RESPONSE', sourceAttributions: [] };

  const queryTerms = new Set(
    tokenize(question)
      .map(processTerm)
      .filter((t): t is string => !!t),
  );
  let text = perDoc.size === 1 ? 'According to one source:\n\n' : `According to ${perDoc.size} sources:\n\n`;
  const sourceAttributions: SourceAttributionRecord[] = [];
  let n = 0;
  for (const hit of perDoc.values()) {
    n++;
    const excerpt = bestSentences(hit.passage.text, queryTerms);
    const beginOffset = text.length;
    text += excerpt;
    const endOffset = text.length;
    text += ` [${n}]${n < perDoc.size ? '\n\n' : ''}`;
    const { doc } = hit.passage;
    sourceAttributions.push({
      title: doc.title,
      snippet: hit.passage.text,
      url: doc.uri,
      citationNumber: n,
      updatedAt: doc.updatedAt,
      textMessageSegments: [{ beginOffset, endOffset, snippetExcerpt: { text: excerpt } }],
      documentId: doc.id,
      indexId: app.indexId,
      datasourceId: doc.dataSourceId,
    });
  }
  return { text, type: 'GROUNDED_RESPONSE', sourceAttributions };
}

/** CREATOR_MODE answers without retrieval: nothing from the index, so nothing to cite. */
export function creatorAnswer(question: string): Answer {
  return {
    text: `In creator mode I answer without searching your company documents. You asked: "${question.slice(0, 200)}". Switch to retrieval mode for an answer grounded in your documents.`,
    type: 'RESPONSE',
    sourceAttributions: [],
  };
}

/** Splits an answer into the pieces the stream sends as separate text events (at least three when long enough). */
export function streamChunks(text: string): string[] {
  const parts = text.match(/\S+\s*/g) ?? [text];
  const size = Math.max(1, Math.ceil(parts.length / Math.max(3, Math.ceil(parts.length / 12))));
  const out: string[] = [];
  for (let i = 0; i < parts.length; i += size) out.push(parts.slice(i, i + size).join(''));
  return out;
}
