/**
 * The post-processing route on files too large to hold in memory, where the
 * hash pass may compare a with the streamed simulation of b while it reads
 * a (src/hash/offer.ts): the real objcopy+strip of b is equivalent, and a
 * published file with the same layout but one byte of loaded data changed
 * (it still runs) is different, however the comparison was made.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../src/forensics/compare.js';
import { IN_MEMORY_LIMIT } from '../../src/forensics/elf/source.js';
import { PARALLEL_MIN_SIZE } from '../../src/hash/digest.js';
import { pkgforgeStrip, sectionOffset } from './fixtures.js';

const MAIN = `#include <stdio.h>
extern const unsigned char _binary_blob_bin_start[];
int main(void) { printf("%d\\n", _binary_blob_bin_start[0]); return 0; }
`;
const BLOB = Math.max(IN_MEMORY_LIMIT, PARALLEL_MIN_SIZE) + (3 << 20) + 5;

let dir: string;
let a: string;
let b: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-pp-large-'));
  await writeFile(join(dir, 'main.c'), MAIN);
  await writeFile(join(dir, 'blob.bin'), randomBytes(BLOB));
  const run = (cmd: string, args: string[]) => execa(cmd, args, { cwd: dir });
  await run('objcopy', ['-I', 'binary', '-O', 'elf64-x86-64', '-B', 'i386:x86-64', 'blob.bin', 'blob.o']);
  b = join(dir, 'prog');
  await run('gcc', ['-g', '-O1', '-o', b, 'main.c', 'blob.o']);
  a = await pkgforgeStrip(b, join(dir, 'prog.pkgforge'));
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a large stripped pair through the post-processing route', () => {
  it('the real post-processing of b: equivalent, every byte of a equal to the simulation', async () => {
    const r = await compare(a, b, { workDir: dir });
    expect(r.verdict).toBe('equivalent');
    expect(r.route).toBe('post-processing');
    expect(r.postProcessing?.matches).toBe(true);
  }, 60_000);

  for (const where of ['first', 'middle', 'last'] as const) {
    it(`one byte of a's loaded data changed (the ${where} of the blob; same layout, still runs): different`, async () => {
      const data = await sectionOffset(a, '.data');
      expect(data.size).toBeGreaterThanOrEqual(BLOB);
      const bytes = await readFile(a);
      const at = data.offset + (where === 'first' ? 0 : where === 'middle' ? BLOB >> 1 : BLOB - 1);
      bytes[at] = (bytes[at] ?? 0) ^ 0x01;
      const tampered = join(dir, `tampered-${where}`);
      await writeFile(tampered, bytes, { mode: 0o755 });
      const ran = await execa(tampered, []);
      expect(ran.exitCode).toBe(0);
      const r = await compare(tampered, b, { workDir: dir });
      expect(r.verdict).toBe('different');
      expect(r.postProcessing?.matches).toBe(false);
      expect(r.differences.map((d) => d.region)).toContain('.data');
      await rm(tampered);
    }, 60_000);
  }
});
