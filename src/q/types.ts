/**
 * @module Plain, JSON-ready shapes the Q client returns (dates as ISO strings, unions flattened), and
 * the converters from the SDK's shapes. Tools render these; nothing here talks to the network.
 */
import type {
  AttributeFilter,
  DocumentAttribute,
  DocumentAttributeValue,
  Message,
  RelevantContent,
  SourceAttribution,
} from '@aws-sdk/client-qbusiness';

export type AttributeValue = string | string[] | number;

/** Q's attribute filter with JSON values: `dateValue` is an ISO 8601 string. */
export interface AttributeFilterInput {
  andAllFilters?: AttributeFilterInput[];
  orAllFilters?: AttributeFilterInput[];
  notFilter?: AttributeFilterInput;
  equalsTo?: AttributeInput;
  containsAll?: AttributeInput;
  containsAny?: AttributeInput;
  greaterThan?: AttributeInput;
  greaterThanOrEquals?: AttributeInput;
  lessThan?: AttributeInput;
  lessThanOrEquals?: AttributeInput;
}
export interface AttributeInput {
  name: string;
  value: { stringValue?: string; stringListValue?: string[]; longValue?: number; dateValue?: string };
}

export interface Passage {
  documentId: string;
  title: string;
  uri?: string;
  content: string;
  /** VERY_HIGH, HIGH, MEDIUM, LOW or NOT_AVAILABLE. */
  confidence?: string;
  attributes: Record<string, AttributeValue>;
}
export interface SearchResult {
  passages: Passage[];
  nextToken?: string;
}

export interface Source {
  citationNumber?: number;
  title: string;
  url?: string;
  snippet?: string;
  documentId?: string;
  /** Pass to get_document with documentId for documents synced by a connector. */
  dataSourceId?: string;
  updatedAt?: string;
}
export interface ChatAnswer {
  answer: string;
  conversationId: string;
  systemMessageId?: string;
  userMessageId?: string;
  sources: Source[];
}
export interface ChatRequest {
  message: string;
  conversationId?: string;
  parentMessageId?: string;
  attributeFilter?: AttributeFilterInput;
}

export interface ConversationSummary {
  conversationId: string;
  title?: string;
  startTime?: string;
}
export interface ConversationMessage {
  messageId: string;
  type: string;
  body: string;
  time?: string;
  sources: Source[];
}

export interface DocumentText {
  documentId: string;
  /** The document's own type (text/html, application/pdf, …), not that of the extracted JSON. */
  mimeType?: string;
  text: string;
  offset: number;
  totalChars: number;
  /** Where to continue reading, when there is more. */
  nextOffset?: number;
}

const iso = (d: Date | undefined) =>
  d instanceof Date && !Number.isNaN(d.getTime()) ? d.toISOString() : undefined;

export function attributeValue(v: DocumentAttributeValue | undefined): AttributeValue | undefined {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.stringListValue !== undefined) return v.stringListValue;
  if (v.longValue !== undefined) return v.longValue;
  if (v.dateValue !== undefined) return iso(v.dateValue) ?? String(v.dateValue);
  return undefined;
}

export function toPassage(r: RelevantContent): Passage {
  const attributes: Record<string, AttributeValue> = {};
  for (const a of r.documentAttributes ?? []) {
    const value = attributeValue(a.value);
    if (a.name && value !== undefined) attributes[a.name] = value;
  }
  return strip({
    documentId: r.documentId ?? '',
    title: r.documentTitle ?? r.documentId ?? '(untitled)',
    uri: r.documentUri,
    content: r.content ?? '',
    confidence: r.scoreAttributes?.scoreConfidence,
    attributes,
  });
}

export function toSources(list: Array<SourceAttribution | null> | undefined): Source[] {
  return (list ?? [])
    .filter((s): s is SourceAttribution => s !== null && s !== undefined)
    .map((s) =>
      strip({
        citationNumber: s.citationNumber,
        title: s.title ?? s.url ?? s.documentId ?? '(untitled)',
        url: s.url,
        snippet: s.snippet,
        documentId: s.documentId,
        dataSourceId: s.datasourceId,
        updatedAt: iso(s.updatedAt),
      }),
    )
    .sort((a, b) => (a.citationNumber ?? 1e9) - (b.citationNumber ?? 1e9));
}

export function toMessage(m: Message): ConversationMessage {
  return strip({
    messageId: m.messageId ?? '',
    type: m.type ?? 'UNKNOWN',
    body: m.body ?? '',
    time: iso(m.time),
    sources: toSources(m.sourceAttribution),
  });
}

/** JSON filter → SDK filter: only `dateValue` needs converting. */
export function toSdkFilter(f: AttributeFilterInput): AttributeFilter {
  const attr = (a: AttributeInput | undefined): DocumentAttribute | undefined => {
    if (!a) return undefined;
    const v = a.value;
    const value = (
      v.dateValue !== undefined
        ? { dateValue: new Date(v.dateValue) }
        : v.stringValue !== undefined
          ? { stringValue: v.stringValue }
          : v.stringListValue !== undefined
            ? { stringListValue: v.stringListValue }
            : { longValue: v.longValue }
    ) as DocumentAttributeValue;
    return { name: a.name, value };
  };
  return strip({
    andAllFilters: f.andAllFilters?.map(toSdkFilter),
    orAllFilters: f.orAllFilters?.map(toSdkFilter),
    notFilter: f.notFilter ? toSdkFilter(f.notFilter) : undefined,
    equalsTo: attr(f.equalsTo),
    containsAll: attr(f.containsAll),
    containsAny: attr(f.containsAny),
    greaterThan: attr(f.greaterThan),
    greaterThanOrEquals: attr(f.greaterThanOrEquals),
    lessThan: attr(f.lessThan),
    lessThanOrEquals: attr(f.lessThanOrEquals),
  });
}

/** Drops undefined members so results validate against output schemas and serialize compactly. */
export function strip<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}
