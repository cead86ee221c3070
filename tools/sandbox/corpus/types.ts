/**
 * @module The sandbox corpus's document shape: what a connector would have synced into a Q index
 * (title, URI, data source, attributes, ACL, body), written as plain data.
 */

/** Who may see a document. A user sees it if any entry matches; an empty ACL matches nobody. */
export interface DocumentAcl {
  /** Open to every user of the application. */
  everyone?: boolean;
  /** Group names as the IdC directory (and Q's own group store) knows them. */
  groups?: string[];
  /** User emails. */
  users?: string[];
}

export type DataSourceKey = 'confluence' | 'sharepoint' | 's3' | 'salesforce';

/** What a corpus file writes; `corpus/index.ts` turns it into a `CorpusDocument`. */
export interface DocumentSpec {
  /** Unique, URL-safe; becomes the document id. */
  slug: string;
  title: string;
  source: DataSourceKey;
  department: string;
  category: string;
  /** ISO date (YYYY-MM-DD). */
  created: string;
  /** ISO date; defaults to `created`. */
  updated?: string;
  tags: string[];
  confidentiality?: 'public' | 'internal' | 'confidential' | 'restricted';
  acl: DocumentAcl;
  /** Paragraphs of body text. */
  body: string[];
  /** Q application ids this document is indexed in; all applications when absent. */
  applications?: string[];
}

export type AttributeValue =
  { stringValue: string } | { stringListValue: string[] } | { longValue: number } | { dateValue: Date };

export interface CorpusDocument {
  id: string;
  title: string;
  uri: string;
  dataSourceId: string;
  mimeType: 'text/html' | 'text/plain' | 'text/markdown';
  createdAt: Date;
  updatedAt: Date;
  acl: DocumentAcl;
  body: string[];
  applications?: string[];
  /** Index attributes by name, as Q returns them in `documentAttributes`. */
  attributes: Record<string, AttributeValue>;
}

export const ALL_EMPLOYEES = 'all-employees';
