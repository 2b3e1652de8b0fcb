/**
 * Unrelated files (/usr/bin/ls against /usr/bin/cat) are laid out
 * differently: the same file offset is in one section of a and another of
 * b. Each side's differing bytes must be labelled with that side's own
 * section (as the host's readelf sees it), in the JSON, the text report and
 * the byte map — never with the other file's.
 */
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Comparison } from '../../src/forensics/types.js';
import { byteMapFiles } from '../../src/report/byte-map.js';
import { rebuild } from '../helpers/cli.js';
import { readProgramHeaders, readSections, type SectionRow } from './corpus.js';

const A = '/usr/bin/ls';
const B = '/usr/bin/cat';

/** The section holding file offset `at` (not NOBITS, non-empty), as readelf lists them. */
function sectionAt(rows: SectionRow[], at: number): string | undefined {
  return rows.find((r) => r.type !== 'NOBITS' && r.size > 0 && r.offset <= at && at < r.offset + r.size)
    ?.name;
}

describe('each side of unrelated files is labelled with its own sections', () => {
  it('ls against cat: every differing loaded region names, per side, the section readelf finds there', async () => {
    const r = await rebuild(['compare', A, B, '--json']);
    expect(r.exitCode, r.stderr).toBe(2);
    const c = JSON.parse(r.stdout) as Comparison;
    const [secA, secB] = await Promise.all([readSections(A), readSections(B)]);
    const [phA, phB] = await Promise.all([readProgramHeaders(A), readProgramHeaders(B)]);
    const sizeB = statSync(B).size;
    const loaded = c.differences.filter((d) => d.firstDifference !== undefined && (d.a || d.b));
    expect(loaded.length).toBeGreaterThan(10);
    let relabelled = 0;
    for (const d of loaded) {
      const at = (d.a ?? d.b)!.offset + d.firstDifference!;
      const own = { a: d.names?.a ?? d.region, b: d.names?.b ?? d.region };
      if (d.names) relabelled++;
      const expectOwn = (side: 'a' | 'b', rows: SectionRow[], ph: typeof phA) => {
        const name = own[side];
        const want = sectionAt(rows, at);
        if (want) expect(name, `${side} at 0x${at.toString(16)} (${d.region})`).toBe(want);
        else if (side === 'b' && at >= sizeB) expect(name).toBe('past the end of the file');
        else {
          const inLoad = ph.some((p) => p.type === 'LOAD' && p.offset <= at && at < p.offset + p.filesz);
          expect(name, `${side} at 0x${at.toString(16)}`).toMatch(
            inLoad ? /^segment:\d+$/ : /^(no segment|segment:\d+)$/,
          );
        }
      };
      expectOwn('a', secA, phA);
      expectOwn('b', secB, phB);
    }
    // the layouts really differ: many regions carry two names
    expect(relabelled).toBeGreaterThan(10);

    // the byte map marks each file's ranges with its own names
    const [mapA, mapB] = byteMapFiles(c, 'a', 'b');
    for (const d of c.differences.filter((x) => x.names)) {
      expect(mapA!.marks.some((m) => m.name === d.names!.a)).toBe(true);
      expect(mapB!.marks.some((m) => m.name === d.names!.b)).toBe(true);
    }

    // the text report says both: `.gnu.hash in a, .dynsym in b`
    const text = await rebuild(['compare', A, B], { env: { COLUMNS: '160' } });
    const d = c.differences.find((x) => x.names?.a.startsWith('.') && x.names.b.startsWith('.'))!;
    expect(text.stdout).toContain(`${d.names!.a} in a, ${d.names!.b} in b`);
  }, 240_000);
});
