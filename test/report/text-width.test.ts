/**
 * The text renderer measures in terminal columns (string-width), not code
 * points: wide characters (CJK, emoji) take two columns, combining marks
 * none, so tables stay aligned and lines fit; and a token with no space in
 * it is never split, whatever its width.
 */
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import type { Doc } from '../../src/report/doc.js';
import { charWidth, DRAWN_CHARACTERS, width } from '../../src/report/format.js';
import { renderDocText } from '../../src/report/text.js';

const doc = (blocks: Doc['blocks']): Doc => ({ title: 't', blocks });

describe('text width in terminal columns', () => {
  it('a table with wide and combining characters keeps its columns aligned', () => {
    const t = renderDocText(
      doc([
        {
          t: 'table',
          headers: ['member', 'verdict'],
          rows: [
            { cells: ['文档/说明.txt', 'different'] },
            { cells: ['readme.txt', 'identical'] },
            { cells: ['cafe\u0301.txt', 'identical'] },
            { cells: ['😀.png', 'different'] },
          ],
        },
      ]),
      { width: 80 },
    );
    const rows = t.split('\n').filter((l) => /different|identical/.test(l));
    expect(rows).toHaveLength(4);
    // the second column starts at the same terminal column on every row
    const starts = rows.map((l) => stringWidth(l.slice(0, l.search(/different|identical/))));
    expect(new Set(starts).size, rows.join('\n')).toBe(1);
  });

  it('prose with wide characters wraps to the width in columns, and never splits a wide token', () => {
    const words = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? '漢字テキスト' : 'word'));
    const token = '長'.repeat(50); // 100 columns, no space
    const t = renderDocText(doc([{ t: 'para', text: `${words.join(' ')} ${token} end` }]), { width: 60 });
    const lines = t.split('\n').filter((l) => l !== '');
    for (const l of lines) {
      if (l.includes(token)) expect(l.trim()).toBe(token);
      else expect(stringWidth(l), l).toBeLessThanOrEqual(60);
    }
    expect(lines.some((l) => l.includes(token))).toBe(true);
    // it really wrapped by columns: a code-point count would have let lines reach ~2× the width
    expect(lines.filter((l) => !l.includes(token)).some((l) => stringWidth(l) > 40)).toBe(true);
  });

  it('the drawn characters measured without string-width are as wide as string-width says, alone and among others', () => {
    for (const ch of DRAWN_CHARACTERS) {
      expect(charWidth(ch), ch).toBe(stringWidth(ch));
      expect(width(`a${ch}b`), ch).toBe(stringWidth(`a${ch}b`));
    }
    // A drawn character joined by a variation selector or a combining mark goes to string-width.
    for (const s of ['▶\uFE0F', '─\u0301x', '✔\uFE0F ok', `${DRAWN_CHARACTERS}😀`, '≠\u001b[31m']) {
      expect(width(s), JSON.stringify(s)).toBe(stringWidth(s));
    }
  });
});
