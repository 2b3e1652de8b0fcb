import { access, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  binutilsVersionNumber,
  candidatePrefixes,
  clearBinutilsCache,
  findBinutils,
} from '../../src/forensics/binutils.js';
import { simulatePkgforgePostProcessing } from '../../src/forensics/postprocess.js';

let root: string;
let hello: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rebuild-sim-test-'));
  await writeFile(join(root, 'a.c'), 'int main(void){return 7;}\n');
  hello = join(root, 'a.out');
  await execa('gcc', ['-g', '-o', hello, join(root, 'a.c')]);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('findBinutils', () => {
  it('tries the host tools only for the host machine, then the triplet', () => {
    expect(candidatePrefixes(62, 'x64')).toEqual(['', 'x86_64-linux-gnu-']);
    expect(candidatePrefixes(183, 'x64')).toEqual(['aarch64-linux-gnu-']);
    expect(candidatePrefixes(183, 'arm64')).toEqual(['', 'aarch64-linux-gnu-']);
    expect(candidatePrefixes(0x7777, 'x64')).toEqual([]);
  });

  it('finds GNU binutils for x86_64 and aarch64 (scripts/setup-engine.sh installs them), caches, and knows no others', async () => {
    clearBinutilsCache();
    const x86 = await findBinutils(62);
    expect(x86?.version).toMatch(/^GNU objcopy .* \d+\.\d+/);
    expect(x86?.objcopy).toMatch(/objcopy$/);
    expect(findBinutils(62)).toBe(findBinutils(62));
    const arm = await findBinutils(183);
    expect(arm?.strip).toMatch(/aarch64-linux-gnu-strip$/);
    expect(arm?.objdump).toMatch(/aarch64-linux-gnu-objdump$/);
    expect(binutilsVersionNumber(arm?.version ?? '')).toMatch(/^\d+\.\d+/);
    expect(await findBinutils(0x7777)).toBeUndefined();
  });
});

describe('simulatePkgforgePostProcessing', () => {
  it('runs objcopy then strip on a copy and equals the hand-run commands', async () => {
    const before = await readFile(hello);
    const sim = await simulatePkgforgePostProcessing(hello, { machine: 62, class: 64, endian: 'little' });
    if ('skipped' in sim) throw new Error(sim.skipped);
    const ref = join(root, 'ref');
    await copyFile(hello, ref);
    await execa('objcopy', ['--remove-section=.comment', '--remove-section=.note.*', ref]);
    await execa('strip', ['--strip-all', ref]);
    expect((await readFile(sim.outputPath)).equals(await readFile(ref))).toBe(true);
    expect((await readFile(hello)).equals(before)).toBe(true); // input untouched
    expect(sim.steps).toEqual([
      "objcopy --remove-section=.comment --remove-section='.note.*' a.out",
      'strip --strip-all a.out',
    ]);
    expect(sim.tool).toMatch(/^strip \d+\.\d+/);
    await sim.cleanup();
    await expect(access(sim.outputPath)).rejects.toThrow();
  });

  it('returns skipped, never throws, for a file the tools reject or a machine without binutils', async () => {
    const junk = join(root, 'junk');
    await writeFile(junk, Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01'), Buffer.alloc(200, 0xff)]));
    const r = await simulatePkgforgePostProcessing(junk, {
      machine: 62,
      class: 64,
      endian: 'little',
      workDir: root,
    });
    expect(r).toHaveProperty('skipped');
    expect((r as { skipped: string }).skipped).toContain('objcopy');
    const none = await simulatePkgforgePostProcessing(hello, {
      machine: 0x7777,
      class: 64,
      endian: 'little',
    });
    expect((none as { skipped: string }).skipped).toMatch(/no GNU binutils .*fix:/);
    const missing = await simulatePkgforgePostProcessing(join(root, 'nope'), {
      machine: 62,
      class: 64,
      endian: 'little',
    });
    expect(missing).toHaveProperty('skipped');
  });
});
