/**
 * @module get_document's text extraction for EXTRACTED content. AWS documents the format only as
 * application/json without a layout (the sandbox serves one guess), so other JSON shapes are checked here directly.
 */
import { describe, expect, it } from 'vitest';
import { extractText } from '../../src/q/document.js';

describe('extractText', () => {
  it('returns plain text unchanged', () => {
    expect(extractText('Plain words.\nSecond line.')).toBe('Plain words.\nSecond line.');
  });

  it('takes a bare JSON string as the text', () => {
    expect(extractText(JSON.stringify('The whole text'))).toBe('The whole text');
  });

  it('joins text-bearing fields in document order, skipping metadata', () => {
    const body = JSON.stringify({
      documentId: 'doc-1',
      title: 'Policy',
      pages: [
        { pageNumber: 1, text: 'First page.' },
        { pageNumber: 2, text: 'Second page.' },
      ],
      tables: [{ content: 'a | b' }],
    });
    expect(extractText(body)).toBe('First page.\n\nSecond page.\n\na | b');
  });

  it('falls back to the pretty JSON when no text field is recognised', () => {
    const body = JSON.stringify({ blocks: [{ value: 'x' }] });
    expect(extractText(body)).toBe(JSON.stringify({ blocks: [{ value: 'x' }] }, null, 2));
  });
});
