/**
 * Layouts where the streamed post-processing once differed from the real
 * tools (found by comparing the plan with objcopy then strip on many
 * executables): each must now be byte-identical or refused (the tools then
 * run), and the real tools' output of it must be called equivalent.
 *  - gold's .rela.plt names .plt in sh_info; BFD rewrites it by name to .got.plt;
 *  - lld's static .rela.dyn has SHF_INFO_LINK and an sh_info that BFD clears
 *    (no section is named .dyn);
 *  - .tbss sits in the file right after .tdata, not at its address's offset;
 *  - lld's static links start the headers' PT_LOAD with a note: BFD rebuilds
 *    PT_PHDR's p_paddr from the first kept section (refused: not modelled);
 *  - gold rounds PT_TLS's p_memsz up to its alignment, which BFD recomputes
 *    from the sections (refused).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planCommentNotesStrip } from '../../src/postprocess/bfd-layout.js';
import { PlanSource } from '../../src/postprocess/plan.js';

let dir: string;
const p = (n: string) => join(dir, n);

const C = `#include <stdio.h>
__thread int t1 = 5; __thread int t2; __thread char tb[100];
int counter = 3;
int main(int argc, char **argv) { t2 = t1 + argc; tb[3] = 1; printf("%d %d %s\\n", t2 + tb[3], counter, argv[0]); return 0; }
`;

const has = async (cmd: string) =>
  execa(cmd, ['--version']).then(
    () => true,
    () => false,
  );

async function reference(bin: string): Promise<Buffer> {
  await execa('objcopy', ['--remove-section=.comment', '--remove-section=.note.*', bin, `${bin}.mid`]);
  await execa('strip', ['--strip-all', '-o', `${bin}.ref`, `${bin}.mid`]);
  return readFile(`${bin}.ref`);
}

async function planned(bin: string): Promise<Buffer | string> {
  const bytes = await readFile(bin);
  const src = {
    name: bin,
    size: bytes.length,
    readInto: async (buf: Buffer, offset: number, length: number) =>
      bytes.copy(buf, 0, offset, Math.min(bytes.length, offset + length)),
  };
  const plan = await planCommentNotesStrip(src);
  if ('unsupported' in plan) return plan.unsupported;
  return new PlanSource(src, plan.pieces, bin).read(0, plan.size);
}

const built: { name: string; path: string }[] = [];
/** What may be refused, and why (the tools then run). */
const REFUSED: Record<string, RegExp> = {
  'lld-static': /program headers' PT_LOAD starts with .note/,
  // gold rounds PT_TLS's p_memsz up to its alignment; BFD sizes it from .tdata and .tbss.
  'gcc-gold': /segment of type 7 whose header/,
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-bfd-rules-'));
  await writeFile(p('t.c'), C);
  const cc = async (name: string, compiler: string, args: string[]) => {
    await execa(compiler, [...args, '-o', p(name), p('t.c')]);
    built.push({ name, path: p(name) });
  };
  await cc('gcc-tls', 'gcc', ['-O2']);
  if (await has('ld.gold')) await cc('gcc-gold', 'gcc', ['-O2', '-fuse-ld=gold']);
  if ((await has('clang')) && (await has('ld.lld')))
    await cc('lld-static', 'clang', ['-O2', '-static', '-fuse-ld=lld']);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the streamed post-processing on layouts BFD rewrites by its own rules', () => {
  it('is byte-identical to objcopy then strip, or refused', async () => {
    expect(built.length).toBeGreaterThanOrEqual(1);
    for (const b of built) {
      const got = await planned(b.path);
      const ref = await reference(b.path);
      if (typeof got === 'string') {
        expect(got, b.name).toMatch(REFUSED[b.name] ?? /^never$/);
        continue;
      }
      expect(got.length, b.name).toBe(ref.length);
      const first = got.findIndex((x, i) => x !== ref[i]);
      expect(first, `${b.name}: first differing byte`).toBe(-1);
    }
  }, 120_000);

  it('calls the real tools output equivalent (post-processing route)', async () => {
    const { compare } = await import('../../src/forensics/compare.js');
    for (const b of built) {
      const a = `${b.path}.published`;
      await writeFile(a, await reference(b.path));
      const r = await compare(a, b.path, { workDir: dir });
      expect(r.verdict, b.name).toBe('equivalent');
      expect(r.route, b.name).toBe('post-processing');
    }
  }, 120_000);

  it('calls the real output different when bytes nothing explains are added to it (the streamed route compares every byte of a)', async () => {
    const { compare } = await import('../../src/forensics/compare.js');
    const b = built[0]!.path;
    const good = await reference(b);
    const sections = (await execa('readelf', ['-SW', `${b}.ref`])).stdout;
    const at = (name: string) => {
      const m = sections.match(new RegExp(`\\${name}\\s+\\S+\\s+\\S+\\s+(\\S+)\\s+(\\S+)`));
      if (!m) throw new Error(`no ${name}`);
      return { offset: Number.parseInt(m[1]!, 16), size: Number.parseInt(m[2]!, 16) };
    };
    const fini = at('.fini');
    const ehFrame = at('.eh_frame');
    const phnum = good.readUInt16LE(56);
    const poke = (bytes: number[], offset: number) => (x: Buffer) => {
      x.set(bytes, offset);
      return x;
    };
    const tampered: [string, (x: Buffer) => Buffer][] = [
      // int3 then ret in the zero padding after .fini, inside the executable segment's pages
      ['a cave after .fini', poke([0xcc, 0xc3], fini.offset + fini.size + 2)],
      ['a byte after .eh_frame', poke([0x90], ehFrame.offset + ehFrame.size + 3)],
      ['a byte after the program headers', poke([0xcc], 64 + phnum * 56)],
      ['data appended', (x) => Buffer.concat([x, Buffer.from('appended')])],
    ];
    for (const [name, tamper] of tampered) {
      const a = `${b}.${name.replace(/\W+/g, '-')}`;
      await writeFile(a, tamper(Buffer.from(good)));
      const r = await compare(a, b, { workDir: dir });
      expect(r.verdict, name).toBe('different');
      expect(r.postProcessing?.tool, name).toMatch(/streamed by rebuild/);
    }
  }, 120_000);
});
