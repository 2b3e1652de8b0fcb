/**
 * Content proofs of non-loaded sections (src/forensics/proofs/): the real
 * sections gcc, ld and objcopy write prove out; hostile bytes (random,
 * mutated, truncated) never make a proof or the reader throw, and random
 * bytes never prove out as .comment, DWARF, a symbol table or notes.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../src/forensics/compare.js';
import { type ElfFile, readElf, type SectionHeader } from '../../src/forensics/elf/reader.js';
import { BufferSource } from '../../src/forensics/elf/source.js';
import { EXPLANATIONS, nonLoadedKind, sectionContext } from '../../src/forensics/explanations.js';
import { prove } from '../../src/forensics/proofs/index.js';
import type { ExplanationKind } from '../../src/forensics/types.js';
import { isRebuildError } from '../../src/util/errors.js';
import { gcc, SOURCE } from './fixtures.js';
import { prng } from './prng.js';

const SEED = 20261201;

let dir: string;
let base: string;
let linked: string;
let compressed: string;
let bytes: Buffer;
let elf: ElfFile;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-proofs-'));
  base = await gcc(join(dir, 'src'), join(dir, 'base'), SOURCE);
  await execa('objcopy', ['--only-keep-debug', base, join(dir, 'base.debug')]);
  linked = join(dir, 'linked');
  await execa('objcopy', [`--add-gnu-debuglink=${join(dir, 'base.debug')}`, base, linked]);
  compressed = join(dir, 'compressed');
  await execa('objcopy', ['--compress-debug-sections=zlib', base, compressed]);
  bytes = await readFile(linked);
  elf = await readElf(new BufferSource(bytes, linked));
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The non-loaded sections of a file that the registry names, with their kind. */
function named(e: ElfFile): Array<[SectionHeader, ExplanationKind]> {
  const ctx = sectionContext(e);
  const out: Array<[SectionHeader, ExplanationKind]> = [];
  for (const s of e.sections) {
    if (s.index === 0 || (s.flags & 2n) !== 0n) continue;
    const k = nonLoadedKind(s, ctx);
    if (k && EXPLANATIONS[k].proves) out.push([s, k]);
  }
  return out;
}

async function proveIn(e: ElfFile, buf: Buffer, s: SectionHeader, k: ExplanationKind) {
  const spec = EXPLANATIONS[k];
  if (!spec.proves) throw new Error(`${k} has no proof`);
  return prove(e, new BufferSource(buf, 'x'), s, spec.proves, spec.compressed?.(s) ?? false);
}

describe('content proofs', () => {
  it('every non-loaded section gcc, ld and objcopy wrote proves out (the honest files stay explained)', async () => {
    const list = named(elf);
    const names = list.map(([s]) => s.name);
    for (const n of [
      '.comment',
      '.symtab',
      '.strtab',
      '.debug_info',
      '.debug_abbrev',
      '.gnu_debuglink',
      '.shstrtab',
    ])
      expect(names).toContain(n);
    for (const [s, k] of list) expect(await proveIn(elf, bytes, s, k), s.name).toEqual({ proven: true });
  });

  it('zlib-compressed debug sections (SHF_COMPRESSED) are inflated and proven', async () => {
    const buf = await readFile(compressed);
    const e = await readElf(new BufferSource(buf, compressed));
    const info = e.sections.find((s) => s.name === '.debug_info')!;
    expect(info.flags & 0x800n).toBe(0x800n);
    for (const [s, k] of named(e)) expect(await proveIn(e, buf, s, k), s.name).toEqual({ proven: true });
    const c = await compare(base, compressed, { postProcessing: false });
    expect(c.verdict, JSON.stringify(c.differences)).toBe('equivalent');
  });

  it('random bytes in any named section never prove out, and no proof throws', async () => {
    const rnd = prng(SEED);
    for (const [s, k] of named(elf)) {
      if (s.name === '.shstrtab') continue; // compared apart: every byte must be a name (outside.ts)
      for (let i = 0; i < 20; i++) {
        const buf = Buffer.from(bytes);
        for (let j = s.offset; j < s.offset + s.size; j++) buf[j] = Math.floor(rnd() * 256);
        const r = await proveIn(elf, buf, s, k);
        expect(r.proven, `${s.name} of random bytes`).toBe(false);
        if (!r.proven) expect(r.reason.length).toBeGreaterThan(0);
      }
    }
  });

  it('mutated and truncated real sections give an outcome, never an exception (fuzz)', async () => {
    const rnd = prng(SEED + 1);
    const list = named(elf);
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const [s, k] = list[i % list.length]!;
      const buf = Buffer.from(bytes);
      const pick = (n: number) => Math.floor(rnd() * n);
      const edits = 1 + pick(4);
      for (let j = 0; j < edits && s.size > 0; j++) {
        const at = s.offset + pick(s.size);
        buf[at] = [0, 0xff, 0x80, 0x7f, pick(256)][pick(5)]!;
      }
      const cut = pick(3) === 0 ? { ...s, size: pick(s.size + 1) } : s;
      const r = await proveIn(elf, buf, cut, k);
      if (!r.proven) refused++;
    }
    expect(refused).toBeGreaterThan(500);
  });
});

describe('the reader on hostile notes and sections', () => {
  it('notes that do not parse are left out with the reason; compare gives a verdict (fuzz)', async () => {
    const rnd = prng(SEED + 2);
    const pick = (n: number) => Math.floor(rnd() * n);
    const orig = await readFile(base);
    const e = await readElf(new BufferSource(orig, base));
    const notes = e.sections.filter((s) => s.type === 7 && s.size > 0);
    expect(notes.length).toBeGreaterThan(0);
    const mutant = join(dir, 'mutant');
    const outcomes = { different: 0, equivalent: 0, identical: 0, error: 0, leftOut: 0 };
    for (let i = 0; i < 300; i++) {
      const buf = Buffer.from(orig);
      const s = notes[i % notes.length]!;
      // note headers (namesz, descsz, type) and names get extreme values
      const at = s.offset + pick(Math.min(s.size, 16));
      buf.writeUInt32LE([0, 1, 0xffffffff, 0x7fffffff, 0x10000, pick(2 ** 32)][pick(6)]!, at - (at % 4));
      try {
        const parsed = await readElf(new BufferSource(buf, mutant));
        if (parsed.noteProblems) outcomes.leftOut++;
        await writeFile(mutant, buf);
        const c = await compare(mutant, base, { postProcessing: false, context: false });
        outcomes[c.verdict]++;
        if (parsed.noteProblems) expect(c.verdict).toBe('different');
      } catch (err) {
        if (!isRebuildError(err)) throw err;
        outcomes.error++;
      }
    }
    expect(outcomes.leftOut).toBeGreaterThan(50);
    expect(outcomes.error).toBe(0);
  }, 120_000);

  it('a file whose non-loaded note and debug sections are garbage is different, naming each section', async () => {
    const copy = join(dir, 'garbage');
    await copyFile(base, copy);
    await execa('objcopy', ['--add-section', `.note.junk=${base}`, copy]);
    const c = await compare(copy, base, { postProcessing: false });
    expect(c.verdict).toBe('different');
    const d = c.differences.find((x) => x.region === '.note.junk');
    expect(d?.detail).toMatch(/named as notes but its contents do not prove out/);
  });
});
