/**
 * @module Unit tests of the shared tool shapes: Q's id and nextToken bounds, the `\P{C}` pattern, and
 * the text renderings of passages and sources an LLM reads (numbered, citable, attributes as JSON).
 */
import { describe, expect, it } from 'vitest';
import type { Passage, Source } from '../q/types.js';
import {
  NO_CONTROL_CHARS,
  PassageOut,
  SourceOut,
  nextToken,
  qId,
  renderPassages,
  renderSources,
} from './shapes.js';

const DOC = 'doc-0001';
const passage = (over: Partial<Passage> = {}): Passage => ({
  documentId: DOC,
  title: 'VPN guide',
  content: 'Install the client.\nSign in with SSO.',
  attributes: {},
  ...over,
});

describe('qId and nextToken', () => {
  it('takes a 36-character Q id and names the field in the refusal', () => {
    const conversationId = qId('conversationId');
    expect(conversationId.parse('a1b2c3d4-5678-90ab-cdef-111111111111')).toBe(
      'a1b2c3d4-5678-90ab-cdef-111111111111',
    );
    const bad = conversationId.safeParse('a1b2c3d4');
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toBe('a 36-character conversationId from an earlier result');
    expect(conversationId.safeParse('-1b2c3d4-5678-90ab-cdef-111111111111').success).toBe(false);
  });

  it("bounds a nextToken to Q's 1–800 characters, and may be left out", () => {
    expect(nextToken.parse(undefined)).toBeUndefined();
    expect(nextToken.parse('x'.repeat(800))).toHaveLength(800);
    expect(nextToken.safeParse('').success).toBe(false);
    expect(nextToken.safeParse('x'.repeat(801)).success).toBe(false);
  });
});

describe('NO_CONTROL_CHARS', () => {
  it('takes printable text in any script', () => {
    for (const ok of ['', 'Quarterly report 2024.pdf', 'Café — 東京 🚀', 's3://bucket/key with spaces']) {
      expect(NO_CONTROL_CHARS.test(ok), ok).toBe(true);
    }
  });

  it('refuses control, format, surrogate and private-use characters', () => {
    for (const bad of [
      'a\u0000b',
      'line\nbreak',
      'tab\t',
      'zero\u200bwidth',
      'bidi\u202e',
      '\ud800',
      '\ue000',
    ]) {
      expect(NO_CONTROL_CHARS.test(bad), JSON.stringify(bad)).toBe(false);
    }
  });
});

describe('output shapes', () => {
  it('accept what the tools return', () => {
    const out = {
      n: 1,
      documentId: DOC,
      title: 't',
      content: 'c',
      attributes: { tags: ['a'], n: 3, s: 'x' },
    };
    expect(PassageOut.parse(out)).toEqual(out);
    expect(PassageOut.safeParse({ ...out, attributes: { bad: true } }).success).toBe(false);
    expect(SourceOut.parse({ title: 'Only a title' })).toEqual({ title: 'Only a title' });
  });
});

describe('renderPassages', () => {
  it('numbers passages, shows where each is from and indents the content', () => {
    const text = renderPassages([
      passage({ uri: 'https://wiki.example.com/vpn', confidence: 'HIGH' }),
      passage({ documentId: 'doc-0002', title: 'Second', content: '  Only line.  ' }),
    ]);
    expect(text).toBe(
      [
        '[1] VPN guide — https://wiki.example.com/vpn',
        `    documentId: ${DOC} · confidence: HIGH`,
        '    Install the client.',
        '    Sign in with SSO.',
        '',
        '[2] Second',
        '    documentId: doc-0002',
        '    Only line.',
      ].join('\n'),
    );
  });

  it('numbers from `first`, so citations run on across pages', () => {
    const text = renderPassages([passage(), passage()], 11);
    expect(text).toMatch(/^\[11\] /);
    expect(text).toContain('\n\n[12] ');
  });

  it('renders nothing for no passages', () => {
    expect(renderPassages([])).toBe('');
  });

  it('shows the data source id beside the document id, and attributes as JSON', () => {
    const text = renderPassages([
      passage({
        uri: 'https://wiki.example.com/vpn',
        attributes: {
          _data_source_id: 'ds-1',
          _document_title: 'VPN guide',
          _source_uri: 'https://wiki.example.com/vpn',
          _category: 'office guide',
          tags: ['vpn', 'remote'],
          word_count: 120,
        },
      }),
    ]);
    const lines = text.split('\n');
    expect(lines[1]).toBe(`    documentId: ${DOC} · dataSourceId: ds-1`);
    // What the heading already shows is left out; a string is exactly what an attributeFilter takes.
    expect(lines[2]).toBe('    attributes: _category="office guide", tags=["vpn","remote"], word_count=120');
  });

  it('keeps a title or uri attribute that differs from the heading', () => {
    const text = renderPassages([
      passage({ attributes: { _document_title: 'Other title', _source_uri: 'https://elsewhere.example' } }),
    ]);
    expect(text).toContain(
      'attributes: _document_title="Other title", _source_uri="https://elsewhere.example"',
    );
  });

  it('keeps a uri attribute when the heading shows none, and a title that is not the same string', () => {
    const text = renderPassages([
      passage({
        attributes: { _source_uri: 'https://wiki.example.com/vpn', _document_title: ['VPN guide'] },
      }),
    ]);
    expect(text).toContain(
      'attributes: _source_uri="https://wiki.example.com/vpn", _document_title=["VPN guide"]',
    );
  });

  it('omits the attributes line when nothing is left to show', () => {
    const text = renderPassages([passage({ attributes: { _document_title: 'VPN guide' } })]);
    expect(text).not.toContain('attributes:');
  });

  it('cuts a long value at 120 characters and the whole list at about 600', () => {
    const long = renderPassages([passage({ attributes: { body: 'x'.repeat(500) } })]);
    expect(long).toContain(`body="${'x'.repeat(119)}…`);
    expect(long).not.toContain('x'.repeat(120));

    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`attr_${i}`, `value number ${i}`]));
    const line = renderPassages([passage({ attributes: many })])
      .split('\n')
      .find((l) => l.startsWith('    attributes: '))!;
    expect(line.endsWith(', …')).toBe(true);
    expect(line.length).toBeLessThan(700);
    expect(line).toContain('attr_0="value number 0"');
    expect(line).not.toContain('attr_39');
  });
});

describe('renderSources', () => {
  it('numbers sources by their citation number, else by position', () => {
    const sources: Source[] = [
      { citationNumber: 3, title: 'Cited third', url: 'https://a.example', snippet: 'first line\nsecond' },
      { title: 'Uncited' },
    ];
    expect(renderSources(sources)).toBe(
      ['[3] Cited third — https://a.example', '    first line', '    second', '[2] Uncited'].join('\n'),
    );
  });

  it('gives the document and data source ids get_document takes', () => {
    expect(renderSources([{ title: 'T', documentId: DOC, dataSourceId: 'ds-1' }])).toBe(
      `[1] T (documentId: ${DOC}, dataSourceId: ds-1)`,
    );
    expect(renderSources([{ title: 'T', documentId: DOC }])).toBe(`[1] T (documentId: ${DOC})`);
    // A data source id alone is of no use to get_document.
    expect(renderSources([{ title: 'T', dataSourceId: 'ds-1' }])).toBe('[1] T');
  });

  it('renders nothing for no sources', () => {
    expect(renderSources([])).toBe('');
  });
});
