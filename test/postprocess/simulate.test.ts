import { access, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  binutilsFix,
  binutilsVersionNumber,
  candidatePrefixes,
  clearBinutilsCache,
  findBinutils,
  forensicCandidates,
  PROFILES,
  profileById,
  simulatePostProcessing,
  sniffElf,
  supportsTargets,
} from '../../src/postprocess/index.js';

let root: string;
let relocs: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rebuild-sim-test-'));
  await writeFile(join(root, 'a.c'), 'int main(void){return 7;}\n');
  relocs = join(root, 'a.out');
  await execa('gcc', ['-g', '-Wl,--emit-relocs', '-o', relocs, join(root, 'a.c')]);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Each machine with the cross tools scripts/setup-engine.sh --with-test-tools installs. */
const CROSS: Array<{
  machine: number;
  name: string;
  triplet: string;
  cls: 32 | 64;
  endian: 'little' | 'big';
}> = [
  { machine: 3, name: 'i386', triplet: 'i686-linux-gnu', cls: 32, endian: 'little' },
  { machine: 62, name: 'x86_64', triplet: 'x86_64-linux-gnu', cls: 64, endian: 'little' },
  { machine: 183, name: 'aarch64', triplet: 'aarch64-linux-gnu', cls: 64, endian: 'little' },
  { machine: 40, name: 'arm', triplet: 'arm-linux-gnueabihf', cls: 32, endian: 'little' },
  { machine: 243, name: 'riscv', triplet: 'riscv64-linux-gnu', cls: 64, endian: 'little' },
  { machine: 8, name: 'mips', triplet: 'mips-linux-gnu', cls: 32, endian: 'big' },
];

describe('findBinutils', () => {
  it('tries the host tools for the host machine, then the triplets, then the host tools as multiarch', () => {
    expect(candidatePrefixes(62, 'x64')).toEqual(['', 'x86_64-linux-gnu-']);
    expect(candidatePrefixes(183, 'x64')).toEqual(['aarch64-linux-gnu-', '']);
    expect(candidatePrefixes(183, 'arm64')).toEqual(['', 'aarch64-linux-gnu-']);
    expect(candidatePrefixes(3, 'x64')).toEqual(['', 'i686-linux-gnu-', 'x86_64-linux-gnu-']);
    expect(candidatePrefixes(0x7777, 'x64')).toEqual([]);
    expect(
      supportsTargets('objcopy: supported targets: elf64-x86-64 elf32-i386 plugin', ['elf32-i386']),
    ).toBe(true);
    expect(
      supportsTargets('objcopy: supported targets: elf64-x86-64 elf64-little', ['elf64-littleaarch64']),
    ).toBe(false);
    expect(binutilsFix(40)).toContain('binutils-arm-linux-gnueabihf');
    expect(binutilsFix(243)).toContain('apt-get install binutils-riscv64-linux-gnu');
  });

  it('finds GNU binutils that understand each machine, and caches', async () => {
    clearBinutilsCache();
    for (const c of CROSS) {
      const found = await findBinutils(c.machine);
      expect(found?.version, `${c.name}: install binutils-${c.triplet.replaceAll('_', '-')}`).toMatch(
        /^GNU objcopy .* \d+\.\d+/,
      );
      const help = (await execa(found?.objcopy ?? 'false', ['--help'])).stdout;
      expect(help).toMatch(/supported targets:/);
    }
    expect((await findBinutils(183))?.strip).toMatch(/aarch64-linux-gnu-strip$/);
    expect(findBinutils(62)).toBe(findBinutils(62));
    expect(await findBinutils(0x7777)).toBeUndefined();
  });
});

describe('simulatePostProcessing', () => {
  it('runs every candidate profile without an extra copy and equals the hand-run commands', async () => {
    const before = await readFile(relocs);
    const candidates = PROFILES.filter((p) => p.repository === 'bincache');
    const sim = await simulatePostProcessing(relocs, candidates, {
      machine: 62,
      class: 64,
      endian: 'little',
      workDir: root,
    });
    expect(sim.results.map((r) => r.profile)).toEqual(candidates.map((p) => p.id));
    const ok = sim.results.filter((r) => 'outputPath' in r);
    expect(ok).toHaveLength(candidates.length);
    const ref = async (strip: string[]) => {
      const p = join(root, `ref-${strip.length}`);
      await copyFile(relocs, p);
      await execa('objcopy', ['--remove-section=.comment', '--remove-section=.note.*', p]);
      await execa('strip', [...strip, p]);
      return readFile(p);
    };
    const all = await ref(['--strip-all']);
    const unneeded = await ref(['--strip-debug', '--strip-dwo', '--strip-unneeded']);
    const out = (id: string) => {
      const r = sim.results.find((x) => x.profile === id);
      if (!r || !('outputPath' in r)) throw new Error(id);
      return r;
    };
    expect((await readFile(out('bincache-2025-04-10').outputPath)).equals(all)).toBe(true);
    expect((await readFile(out('bincache-2025-01-10').outputPath)).equals(unneeded)).toBe(true);
    expect(out('bincache-2025-03-20').outputPath).toBe(out('bincache-2025-01-10').outputPath); // same passes, one output
    expect(out('bincache-2025-06-25')).toMatchObject({ outputPath: relocs, steps: [] });
    expect(out('bincache-2025-04-10').steps).toEqual([
      "objcopy --remove-section=.comment '--remove-section=.note.*' a.out a.out.out",
      'strip --strip-all a.out.out',
    ]);
    expect(out('bincache-2025-04-10').tool).toMatch(/^strip \d+\.\d+/);
    expect((await readFile(relocs)).equals(before)).toBe(true);
    const made = out('bincache-2025-04-10').outputPath;
    await sim.cleanup();
    await expect(access(made)).rejects.toThrow();
    await expect(access(relocs)).resolves.toBeUndefined();
  });

  it('keeps e_machine for i386, x86_64, aarch64, arm, riscv64 and mips', async () => {
    const asm = join(root, 'neutral.s');
    await writeFile(
      asm,
      '  .text\n  .globl _start\n_start:\nlocal_label:\n  .byte 0, 0, 0, 0\n  .data\nvalue:\n  .byte 1\n',
    );
    const profile = profileById('bincache-2025-04-10');
    if (!profile) throw new Error('profile');
    for (const c of CROSS) {
      const obj = join(root, `${c.name}.o`);
      const exe = join(root, c.name);
      await execa(`${c.triplet}-as`, ['-o', obj, asm]);
      await execa(`${c.triplet}-ld`, ['-o', exe, obj]);
      const sim = await simulatePostProcessing(exe, [profile], {
        machine: c.machine,
        class: c.cls,
        endian: c.endian,
        workDir: root,
      });
      const r = sim.results[0];
      if (!r || !('outputPath' in r)) throw new Error(`${c.name}: ${r && 'skipped' in r ? r.skipped : '?'}`);
      const ident = sniffElf(await readFile(r.outputPath));
      expect(ident, c.name).toEqual({ class: c.cls, endian: c.endian, type: 2, machine: c.machine });
      expect((await execa('readelf', ['-SW', r.outputPath])).stdout, c.name).not.toMatch(/\.symtab/);
      expect(binutilsVersionNumber(r.tool ?? '')).toMatch(/^\d+\.\d+/);
      await sim.cleanup();
    }
  });

  it('returns skipped, never throws, for a file the tools reject or a machine without binutils', async () => {
    const stripAll = [profileById('bincache-2025-04-10')!];
    const only = async (path: string, machine: number, workDir?: string) => {
      const sim = await simulatePostProcessing(path, stripAll, {
        machine,
        class: 64,
        endian: 'little',
        ...(workDir ? { workDir } : {}),
      });
      await sim.cleanup();
      return sim.results[0]!;
    };
    const junk = join(root, 'junk');
    await writeFile(junk, Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01'), Buffer.alloc(200, 0xff)]));
    expect((await only(junk, 62, root)) as { skipped: string }).toHaveProperty(
      'skipped',
      expect.stringContaining('objcopy'),
    );
    expect(((await only(relocs, 0x7777)) as { skipped: string }).skipped).toMatch(/no GNU binutils .*fix:/);
    expect(await only(join(root, 'nope'), 62)).toHaveProperty('skipped');
  });

  it("offers the record's candidates in order, or every profile with the --strip-all era first", () => {
    expect(
      forensicCandidates(['bincache-2025-01-10', 'nope', 'bincache-2025-04-10']).map((p) => p.id),
    ).toEqual(['bincache-2025-01-10', 'bincache-2025-04-10']);
    const all = forensicCandidates();
    expect(all[0]?.id).toBe('bincache-2025-04-10');
    expect(all).toHaveLength(PROFILES.length);
  });
});
