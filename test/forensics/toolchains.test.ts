/**
 * Other toolchains and link modes the host has (gcc -static, -static-pie,
 * rustc): pkgforge-stripped vs unstripped is equivalent, one changed code
 * byte is different. And the Go-style case: two unstripped files differing
 * only in their symbol tables, with the same unused section-name-table bytes
 * on both sides, are equivalent (the shared bytes are observed, not blamed).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../src/forensics/compare.js';
import { readElf } from '../../src/forensics/elf/reader.js';
import { FileSource } from '../../src/forensics/elf/source.js';
import { gcc, patch, pkgforgeStrip, SOURCE, sectionOffset } from './fixtures.js';

let dir: string;
const p = (n: string) => join(dir, n);
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-toolchains-'));
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function strippedAndFlipped(bin: string) {
  await pkgforgeStrip(bin, `${bin}.stripped`);
  const text = await sectionOffset(bin, '.text');
  await patch(`${bin}.stripped`, `${bin}.flipped`, (b) => {
    const at = text.offset + Math.floor(text.size / 2);
    b[at] = (b[at] ?? 0) ^ 0xff;
  });
  const ok = await compare(`${bin}.stripped`, bin);
  const bad = await compare(`${bin}.flipped`, bin);
  return { ok, bad };
}

const hasRust = await execa('rustc', ['--version']).then(
  () => true,
  () => false,
);

describe('other toolchains (host)', () => {
  for (const [name, args] of [
    ['static', ['-static']],
    ['static-pie', ['-static-pie']],
  ] as const) {
    it(`gcc ${args.join(' ')}: stripped vs unstripped equivalent, one code byte different`, async () => {
      const bin = await gcc(p(`src-${name}`), p(name), SOURCE, [...args]);
      const { ok, bad } = await strippedAndFlipped(bin);
      expect(ok.verdict, JSON.stringify(ok.differences)).toBe('equivalent');
      expect(ok.route).toBe('post-processing');
      if (name === 'static') expect(ok.b.elf?.hardening.static).toBe(true);
      expect(bad.verdict).toBe('different');
      expect(bad.differences.map((d) => d.region)).toContain('.text');
    }, 60_000);
  }

  // Skipped only outside CI, where the set-up script installs rustc.
  it.skipIf(!hasRust && !process.env.CI)(
    'rustc -O: stripped vs unstripped equivalent, one code byte different',
    async () => {
      await writeFile(
        p('hello.rs'),
        'fn main() { println!("hello from rust {}", std::env::args().count()); }\n',
      );
      await execa('rustc', ['-O', '-C', 'debuginfo=1', '-o', p('rust'), p('hello.rs')]);
      const { ok, bad } = await strippedAndFlipped(p('rust'));
      expect(ok.verdict, JSON.stringify(ok.differences)).toBe('equivalent');
      expect(bad.verdict).toBe('different');
      expect(bad.differences.map((d) => d.region)).toContain('.text');
    },
    120_000,
  );

  it('the same unused section-name-table bytes on both sides, build-ids differing: equivalent, observed', async () => {
    const bin = await gcc(p('src-go'), p('go-like'), SOURCE);
    // Point .comment's sh_name one byte further, as Go's linker leaves name bytes unused:
    // the "." of ".comment" is then a non-NUL byte no name uses, on both sides.
    const src = await FileSource.open(bin);
    const elf = await readElf(src);
    await src.close();
    const comment = elf.sections.find((s) => s.name === '.comment')!;
    const at = elf.header.shoff + comment.index * elf.header.shentsize;
    const note = await sectionOffset(bin, '.note.gnu.build-id');
    const unused = (b: Buffer) => b.writeUInt32LE(comment.nameOffset + 1, at);
    await patch(bin, p('go-a'), unused);
    await patch(bin, p('go-b'), (b) => {
      unused(b);
      b[note.offset + note.size - 1] = (b[note.offset + note.size - 1] ?? 0) ^ 0x5a; // the build-id differs
    });
    const c = await compare(p('go-a'), p('go-b'));
    expect(c.verdict, JSON.stringify(c.differences)).toBe('equivalent');
    expect(c.explanations.map((e) => e.kind)).toContain('build-id');
    expect(c.observations?.some((o) => o.region === '.shstrtab')).toBe(true);
    // On one side only, the same bytes are a difference.
    const one = await compare(p('go-a'), bin);
    expect(one.verdict).toBe('different');
    expect(one.differences.map((d) => d.region)).toContain('.shstrtab');
  });
});
