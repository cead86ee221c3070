/**
 * @module A document's text: GetDocumentContent (ACL-checked, EXTRACTED format) returns a short-lived
 * presigned URL, which is fetched here and turned into plain text, then cut to the requested window.
 * The presigned URL is a bearer credential for five minutes: it never leaves this module. The text
 * is kept a short while per user (document-cache.ts), so reading on downloads it about once; Q is
 * still asked on every call, which is what checks that the user may read it.
 */
import { GetDocumentContentCommand } from '@aws-sdk/client-qbusiness';
import { ErrorCode, QindexError } from '../errors.js';
import type { CallOptions, QCore } from './client.js';
import type { DocumentText } from './types.js';
import { documentKey, type CachedDocument } from './document-cache.js';

export interface DocumentRequest {
  documentId: string;
  dataSourceId?: string;
  /** Character offset to start from (default 0). */
  offset?: number;
  /** Characters to return at most (default 20 000). */
  maxChars?: number;
}

export async function getDocumentText(
  core: QCore,
  req: DocumentRequest,
  options: CallOptions = {},
): Promise<DocumentText> {
  const indexId = core.indexId;
  if (!indexId) {
    throw new QindexError(
      ErrorCode.ConfigInvalid,
      'Reading documents needs the Q index id, which is not configured.',
      {
        remedy: 'Set `q.indexId` in the configuration (or QINDEX_Q_INDEX_ID / --index-id).',
      },
    );
  }
  const content = (outputFormat: 'RAW' | 'EXTRACTED') =>
    core.retry(
      'GetDocumentContent',
      (a) =>
        core.sdk.send(
          new GetDocumentContentCommand({
            applicationId: core.applicationId,
            indexId,
            documentId: req.documentId,
            dataSourceId: req.dataSourceId,
            outputFormat,
          }),
          { abortSignal: a.signal },
        ),
      { signal: options.signal },
    );
  const keyParts = { applicationId: core.applicationId, indexId, ...req };
  const keyBefore = documentKey({ ...keyParts, identity: core.identity() });
  const cached = keyBefore === undefined ? undefined : core.documents.get(keyBefore);
  // EXTRACTED is always application/json: the document's own type comes with a RAW answer, whose URL is
  // not fetched. Best effort: without it the type is left out. A cached text has its type already.
  const ownType = cached
    ? Promise.resolve(cached.mimeType)
    : content('RAW').then(
        (raw) => raw.mimeType,
        () => undefined,
      );
  // Asked every time, cached or not: this is Q's check that this user may read the document.
  const out = await content('EXTRACTED');
  if (!out.presignedUrl) {
    throw new QindexError(
      ErrorCode.QBadResponse,
      'Amazon Q Business returned no download URL for the document.',
      {
        retryable: true,
      },
    );
  }
  // Whom the call just made acts for (the first call of a session fetched the credentials).
  const key = documentKey({ ...keyParts, identity: core.identity() });
  let doc = key !== undefined && key === keyBefore ? cached : undefined;
  if (!doc) {
    const url = out.presignedUrl;
    const fetchText = async (): Promise<CachedDocument> => {
      const body = await download(url, options.signal);
      const text = /json/i.test(out.mimeType ?? '') ? extractText(body) : body;
      const mimeType = await ownType;
      return { text, ...(mimeType ? { mimeType } : {}) };
    };
    doc = key === undefined ? await fetchText() : await sharedDownload(key, fetchText, options.signal);
    if (key !== undefined) core.documents.set(key, doc);
  }
  const text = doc.text;
  const offset = Math.min(req.offset ?? 0, text.length);
  const end = Math.min(text.length, offset + (req.maxChars ?? 20_000));
  const mimeType = doc.mimeType;
  return {
    documentId: req.documentId,
    ...(mimeType ? { mimeType } : {}),
    text: text.slice(offset, end),
    offset,
    totalChars: text.length,
    ...(end < text.length ? { nextOffset: end } : {}),
  };
}

/** Downloads in flight, per key: windows read in parallel share one download. */
const inFlight = new Map<string, Promise<CachedDocument>>();

async function sharedDownload(
  key: string,
  fetchText: () => Promise<CachedDocument>,
  signal: AbortSignal | undefined,
): Promise<CachedDocument> {
  const running = inFlight.get(key);
  if (running) {
    // Another call's download: if that caller gave up, this one downloads for itself.
    try {
      return await running;
    } catch (e) {
      if (signal?.aborted || !(e instanceof QindexError) || e.code !== ErrorCode.Cancelled) throw e;
      return fetchText();
    }
  }
  const started = fetchText().finally(() => inFlight.delete(key));
  inFlight.set(key, started);
  return started;
}

/** The whole text is held in memory to cut a window from it: a bigger download is refused, not buffered. */
export const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;

/** Fetches the presigned URL's body as text, refusing more than `maxBytes` before or while it streams. */
export async function download(
  url: string,
  signal?: AbortSignal,
  maxBytes = MAX_DOCUMENT_BYTES,
): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { signal: signal ?? null, redirect: 'follow' });
  } catch (e) {
    if (signal?.aborted)
      throw new QindexError(ErrorCode.Cancelled, 'Downloading the document was cancelled.', { cause: e });
    throw new QindexError(
      ErrorCode.DocumentDownloadFailed,
      'Downloading the document content failed (network error).',
      {
        retryable: true,
        remedy: 'Try again.',
      },
    );
  }
  if (!response.ok) {
    throw new QindexError(
      ErrorCode.DocumentDownloadFailed,
      `Downloading the document content failed with HTTP ${response.status}.`,
      {
        retryable: response.status >= 500 || response.status === 403,
        remedy: 'Try again: the download link is valid for five minutes and a new one is made per call.',
      },
    );
  }
  const tooLarge = () =>
    new QindexError(
      ErrorCode.DocumentTooLarge,
      `The document's content is larger than ${maxBytes / 1048576} MiB, too large to read here.`,
      { remedy: 'Use search_relevant_content or chat to read the passages of this document that matter.' },
    );
  if (Number(response.headers.get('content-length')) > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.length;
    if (size > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  // As response.text() would: UTF-8, a leading BOM dropped.
  return new TextDecoder().decode(Buffer.concat(chunks));
}

const TEXT_KEYS = /^(text|content|body|extractedText|documentText|pageText)$/i;

/**
 * EXTRACTED content is JSON. AWS documents an output schema (schemaVersionId V1): the whole text in
 * `plainTextDocumentContent` for plain-text sources, else `nonPlainTextDocumentContent`, a list of
 * elements with `text`. Anything else (another schema version): the text-bearing string fields in
 * document order (a bare JSON string is the text itself), else the pretty JSON.
 */
export function extractText(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  if (typeof parsed === 'string') return parsed;
  const documented = parsed as { plainTextDocumentContent?: unknown } | null;
  if (typeof documented?.plainTextDocumentContent === 'string') return documented.plainTextDocumentContent;
  const parts: string[] = [];
  const walk = (v: unknown, key?: string) => {
    if (typeof v === 'string') {
      if (key !== undefined && TEXT_KEYS.test(key) && v.trim()) parts.push(v);
    } else if (Array.isArray(v)) {
      for (const item of v) walk(item, key);
    } else if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) walk(child, k);
    }
  };
  walk(parsed);
  return parts.length ? parts.join('\n\n') : JSON.stringify(parsed, null, 2);
}
