/**
 * The build-id is recomputed in the style of the linker that wrote it: GNU
 * ld's, or lld's and gold's whole-file styles, which are tried only on files
 * bearing those linkers' marks (lld's "Linker: LLD" in .comment, gold's
 * version note). Real binaries from the host's gcc, ld.gold and clang + lld;
 * one byte changed after linking breaks each.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBuildId } from '../../src/forensics/buildid.js';
import { readElf } from '../../src/forensics/elf/reader.js';
import { FileSource } from '../../src/forensics/elf/source.js';
import { gcc, sectionOffset } from './fixtures.js';

const SOURCE = 'int main(void) { return 0; }\n';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-buildid-linkers-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const check = async (path: string) => {
  const src = await FileSource.open(path);
  try {
    return await checkBuildId(await readElf(src));
  } finally {
    await src.close();
  }
};

describe('build-id styles by linker', () => {
  for (const [linker, args, style] of [
    ['GNU ld', [], 'gnu-ld'],
    ['gold', ['-fuse-ld=gold'], 'whole-file'],
    ['lld', ['-fuse-ld=lld'], 'lld'],
  ] as const) {
    it(`${linker}: matches in its style, and no longer once a byte of .text changed`, async () => {
      const out = join(dir, `prog-${style}`);
      await gcc(join(dir, style), out, SOURCE, ['-Wl,--build-id=sha1', ...args]);
      const own = await check(out);
      expect(own).toMatchObject({ matches: true, style });
      const bytes = await readFile(out);
      const at = (await sectionOffset(out, '.text')).offset;
      bytes[at] = (bytes[at] ?? 0) ^ 0xff;
      await writeFile(`${out}.patched`, bytes);
      expect(await check(`${out}.patched`)).toMatchObject({
        matches: false,
        status: 'modified after linking',
      });
    });
  }
});
