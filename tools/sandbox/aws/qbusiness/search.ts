/**
 * @module SearchRelevantContent: permitted passages ranked by the engine, attribute-filtered, paged
 * with opaque tokens bound to the query and the user, with document attributes and confidence.
 */
import type { SandboxState } from '../../state.js';
import type { AttributeValue } from '../../corpus/index.js';
import type { EmulatorRequest, EmulatorResponse } from '../types.js';
import type { Access } from './access.js';
import type { Engine, Passage } from './engine.js';
import { jsonResponse, notFound, validationError } from './errors.js';
import { parseFilter } from './filter.js';
import { decodeToken, page } from './tokens.js';
import { optionalInt, optionalNextToken, parseBody, requireId, requireText } from './validate.js';

/** The model bounds maxResults to 1–100; without it the sandbox returns 10 per page. */
const DEFAULT_PAGE = 10;
/** The model documents no bound on queryText; the sandbox refuses beyond 1,000 characters. */
const MAX_QUERY = 1000;

export const wireValue = (v: AttributeValue) =>
  'dateValue' in v ? { dateValue: v.dateValue.getTime() / 1000 } : v;

export function searchRelevantContent(
  engine: Engine,
  state: SandboxState,
  access: Access,
  req: EmulatorRequest,
): EmulatorResponse {
  const body = parseBody(req.body);
  const queryText = requireText('queryText', body.queryText, 1, MAX_QUERY);
  const source = body.contentSource as { retriever?: { retrieverId?: unknown } } | undefined;
  if (!source || typeof source !== 'object') {
    throw validationError('contentSource is required.', [
      { name: 'contentSource', message: 'Member must not be null' },
    ]);
  }
  if (!source.retriever) {
    throw validationError('contentSource must set retriever.', [
      { name: 'contentSource', message: 'Unknown union member' },
    ]);
  }
  const retrieverId = requireId('contentSource.retriever.retrieverId', source.retriever.retrieverId);
  const filter = body.attributeFilter === undefined ? undefined : parseFilter(body.attributeFilter);
  const maxResults = optionalInt('maxResults', body.maxResults, 1, 100) ?? DEFAULT_PAGE;
  const nextToken = optionalNextToken(body.nextToken);
  // Resources are looked up only once the whole input is valid, as the service does.
  if (retrieverId !== access.app.retrieverId) {
    throw notFound(
      'Retriever',
      retrieverId,
      `Retriever ${retrieverId} not found in application ${access.app.applicationId}.`,
    );
  }

  const context = `SearchRelevantContent\n${access.app.applicationId}\n${access.owner}\n${queryText}\n${JSON.stringify(body.attributeFilter ?? null)}`;
  const offset = nextToken ? decodeToken(state.signingKey, context, nextToken) : 0;
  const hits = engine.search(access.app, access.principal, queryText, filter);
  const result = page(state.signingKey, context, hits, offset, maxResults);
  // Each passage's JSON is built once; a response only adds the confidence and joins them.
  const items = result.items.map(
    ({ passage, confidence }) =>
      `${(passage.wire ??= wirePassage(passage)).slice(0, -1)},"scoreAttributes":{"scoreConfidence":"${confidence}"}}`,
  );
  const next = result.nextToken ? `,"nextToken":${JSON.stringify(result.nextToken)}` : '';
  const response = jsonResponse(200, {});
  response.body = `{"relevantContent":[${items.join(',')}]${next}}`;
  return response;
}

function wirePassage(passage: Passage): string {
  return JSON.stringify({
    content: passage.text,
    documentId: passage.doc.id,
    documentTitle: passage.doc.title,
    documentUri: passage.doc.uri,
    documentAttributes: Object.entries(passage.doc.attributes).map(([name, value]) => ({
      name,
      value: wireValue(value),
    })),
  });
}
