/**
 * @module get_document's text extraction for EXTRACTED content: AWS's documented output schema (V1), and
 * other JSON shapes a later schema version might bring.
 */
import { describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { download, extractText } from '../../src/q/document.js';

describe('extractText', () => {
  it('returns plain text unchanged', () => {
    expect(extractText('Plain words.\nSecond line.')).toBe('Plain words.\nSecond line.');
  });

  it('reads the documented V1 schema: plainTextDocumentContent, or the nonPlainTextDocumentContent elements', () => {
    const plain = {
      schemaVersionId: 'V1',
      outputFormat: 'JSON',
      plainTextDocumentContent: 'Title\n\nBody text.\n',
    };
    expect(extractText(JSON.stringify(plain))).toBe('Title\n\nBody text.\n');
    const html = {
      schemaVersionId: 'V1',
      outputFormat: 'JSON',
      nonPlainTextDocumentContent: [
        { text: 'Salary Bands', elementType: 'TEXT', htmlDocumentTitle: 'Salary Bands' },
        { text: 'Band 1: $100,000.', elementType: 'TEXT', htmlDocumentTitle: 'Salary Bands' },
      ],
    };
    expect(extractText(JSON.stringify(html))).toBe('Salary Bands\n\nBand 1: $100,000.');
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

describe('document download', () => {
  // A stand-in for the presigned S3 URL: one declares its size, the other streams without declaring it.
  async function serve(body: Buffer, declare: boolean) {
    const server = createServer((_req, res) => {
      res.writeHead(200, declare ? { 'content-length': String(body.length) } : {});
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/doc`, server };
  }

  it('reads a document within the bound, and refuses one over it instead of buffering it', async () => {
    const body = Buffer.from('\uFEFF' + 'é'.repeat(50_000));
    for (const declare of [true, false]) {
      const { url, server } = await serve(body, declare);
      try {
        expect(await download(url, undefined, body.length)).toBe('é'.repeat(50_000));
        await expect(download(url, undefined, 128 * 1024)).resolves.toHaveLength(50_000);
        await expect(download(url, undefined, 10_000)).rejects.toMatchObject({ code: 'document_too_large' });
      } finally {
        server.close();
      }
    }
  });
});
