import { appendFile, chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../src/forensics/compare.js';
import { abiTag, dynamicStrings, readElf } from '../../src/forensics/elf/reader.js';
import { FileSource } from '../../src/forensics/elf/source.js';
import type { Comparison } from '../../src/forensics/types.js';
import { PROFILES, profileById } from '../../src/postprocess/index.js';
import { RebuildError } from '../../src/util/errors.js';
import { gcc, PATHED, patch, pkgforgeStrip, SOURCE, STAMPED, sectionOffset } from './fixtures.js';

let dir: string;
let base: string;
const p = (name: string) => join(dir, name);
const regions = (c: Comparison) => [...new Set(c.differences.map((d) => d.region))];
const kinds = (c: Comparison) => [...new Set(c.explanations.map((e) => e.kind))];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-compare-'));
  base = await gcc(p('src1'), p('base'), SOURCE);
  await pkgforgeStrip(base, p('stripped'));
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('compare on real x86_64 binaries built with the host gcc', () => {
  it('same source built twice: identical, and the build-id recomputes', async () => {
    const again = await gcc(p('src1'), p('again'), SOURCE);
    const c = await compare(base, again);
    expect(c.verdict).toBe('identical');
    expect(c.route).toBe('identical');
    expect(c.a.elf?.buildIdMatches).toBe(true);
    expect(c.a.sha256).toBe(c.b.sha256);
  });

  it('pkgforge-style stripped (a) vs unstripped (b): equivalent by simulated post-processing, RELRO loss first', async () => {
    const stripped = p('stripped');
    const c = await compare(stripped, base);
    expect(c.verdict).toBe('equivalent');
    expect(c.route).toBe('post-processing');
    expect(c.postProcessing?.matches).toBe(true);
    expect(c.explanations[0]!.detail).toMatch(/RELRO/);
    expect(kinds(c)).toEqual(expect.arrayContaining(['comment', 'notes', 'build-id', 'symbols', 'debug']));
    expect(c.hardening?.differs[0]).toBe('relro');
    expect(c.a.elf?.buildIdMatches).toBeUndefined(); // the note is gone
    // One direction only: a published file carrying more than the rebuilt one
    // (here its notes, which strip would zero) is judged as it is, never stripped.
    const r = await compare(base, stripped);
    expect(r.verdict).toBe('different');
    expect(r.route).toBe('accounting');
    expect(r.postProcessing).toBeUndefined();
    expect(r.differences.some((d) => d.region.startsWith('.note'))).toBe(true);
  });

  it('simulates the candidate profiles of record it is given, names the one that gave the published bytes, and says when none strips', async () => {
    const all = await compare(p('stripped'), base);
    expect(all.postProcessing).toMatchObject({ matches: true, profile: 'bincache-2025-04-10' });
    expect(all.postProcessing?.tried).toHaveLength(PROFILES.length);
    // A pkgcache record near a bincache era: pkgcache's profile runs nothing, so the next candidate is named.
    const near = await compare(p('stripped'), base, {
      postProcessingProfiles: [profileById('pkgcache-sbuild')!, profileById('bincache-2025-01-10')!],
    });
    expect(near.route).toBe('post-processing');
    expect(near.postProcessing).toMatchObject({
      matches: true,
      profile: 'bincache-2025-01-10',
      tried: ['pkgcache-sbuild', 'bincache-2025-01-10'],
    });
    expect(near.postProcessing?.steps.join('\n')).toMatch(/strip --strip-debug --strip-dwo --strip-unneeded/);
    expect(near.verdict).toBe('equivalent');
    // A record whose CI stripped nothing (bincache from 2025-06-25): nothing to simulate, and said so;
    // the stripped publication is then judged as it is.
    const none = await compare(p('stripped'), base, {
      postProcessingProfiles: [profileById('bincache-2025-06-25')!],
    });
    expect(none.postProcessing?.skipped).toMatch(/bincache-2025-06-25\) runs no command on executables/);
    expect(none.route).not.toBe('post-processing');
  });

  it('stripped published vs a rebuild with a debug link: equivalent against the post-processed rebuild', async () => {
    // strip --strip-all keeps .gnu_debuglink, so post-processing the rebuild
    // does not give the published bytes; what remains is benign.
    await execa('objcopy', ['--only-keep-debug', base, p('base.debug')]);
    await copyFile(base, p('debuglink'));
    await execa('objcopy', [`--add-gnu-debuglink=${p('base.debug')}`, p('debuglink')]);
    const c = await compare(p('stripped'), p('debuglink'));
    expect(c.postProcessing?.matches).toBe(false);
    expect(c.route).toBe('accounting');
    expect(c.verdict).toBe('equivalent');
    expect(kinds(c)).toContain('debug');
    expect(c.explanations.some((e) => /\.gnu_debuglink only in b/.test(e.detail))).toBe(true);
    expect(c.differences).toEqual([]);
    // Without the simulation, what objcopy changed (GNU_RELRO dropped) is a difference.
    const raw = await compare(p('stripped'), p('debuglink'), { postProcessing: false });
    expect(raw.verdict).toBe('different');
  });

  it('stripped published vs a different rebuild: only the real differences, not what strip changed', async () => {
    const o0 = await gcc(p('src1'), p('o0-for-stripped'), SOURCE, ['-O0']);
    const c = await compare(p('stripped'), o0);
    expect(c.verdict).toBe('different');
    expect(regions(c)).toContain('.text');
    expect(c.differences.some((d) => /GNU_RELRO/.test(d.detail))).toBe(false);
    // Ranges on b point into the rebuilt file itself, not the temporary copy.
    const text = c.differences.find((d) => d.region === '.text')!;
    expect(text.b).toEqual(await sectionOffset(o0, '.text'));
  });

  it('the same pair without the simulation: the loader view names GNU_RELRO and the zeroed loaded notes', async () => {
    const c = await compare(p('stripped'), base, { postProcessing: false });
    expect(c.verdict).toBe('different');
    expect(regions(c)).toContain('header');
    // objcopy zeroed the allocated notes: loaded bytes that differ, whatever the section headers say.
    expect(
      regions(c)
        .filter((r) => r !== 'header')
        .every((r) => r.startsWith('.note')),
    ).toBe(true);
    expect(c.differences.some((d) => /GNU_RELRO only in b/.test(d.detail))).toBe(true);
  });

  it('.comment changed: different (two builds of one source write the same .comment)', async () => {
    await writeFile(p('comment.txt'), 'GCC: (Other) 99.0\0');
    await copyFile(base, p('comment'));
    await execa('objcopy', ['--update-section', `.comment=${p('comment.txt')}`, p('comment')]);
    const c = await compare(p('comment'), base);
    expect(c.verdict).toBe('different');
    expect(c.route).toBe('accounting');
    expect(c.differences.map((d) => d.region)).toEqual(['.comment']);
  });

  it('build-id changed: equivalent, explained as build-id', async () => {
    const other = await gcc(p('src1'), p('bid'), SOURCE, [`-Wl,--build-id=0x${'12'.repeat(20)}`]);
    const c = await compare(base, other);
    expect(c.verdict).toBe('equivalent');
    expect(kinds(c)).toEqual(['build-id']);
    expect(c.b.elf?.buildId).toBe('12'.repeat(20));
    expect(c.b.elf?.buildIdMatches).toBe(false);
  });

  it('a changed allocated note is loaded, so different (only build-id descriptors are excused)', async () => {
    const abi = await sectionOffset(base, '.note.ABI-tag');
    const poke = (b: Buffer) => {
      b[abi.offset + abi.size - 1] = 0x99;
    };
    await patch(base, p('note-changed'), poke);
    const c = await compare(base, p('note-changed'));
    expect(c.verdict).toBe('different');
    expect(regions(c)).toEqual(['.note.ABI-tag']);
    await copyFile(base, p('xnote'));
    await execa('objcopy', ['--set-section-flags', '.note.ABI-tag=alloc,code,readonly,contents', p('xnote')]);
    await patch(p('xnote'), p('xnote-changed'), poke);
    const x = await compare(p('xnote'), p('xnote-changed'));
    expect(x.verdict).toBe('different');
    expect(regions(x)).toEqual(['.note.ABI-tag']);
  });

  it('strip-all vs strip-debug: equivalent, explained as symbols', async () => {
    await copyFile(base, p('sall'));
    await copyFile(base, p('sdbg'));
    await execa('strip', ['--strip-all', p('sall')]);
    await execa('strip', ['--strip-debug', p('sdbg')]);
    const c = await compare(p('sall'), p('sdbg'));
    expect(c.verdict).toBe('equivalent');
    expect(kinds(c)).toContain('symbols');
    expect(c.differences).toEqual([]);
  });

  it('-O0 vs -O2: different, .text named', async () => {
    const o0 = await gcc(p('src1'), p('o0'), SOURCE, ['-O0']);
    const c = await compare(base, o0);
    expect(c.verdict).toBe('different');
    expect(regions(c)).toContain('.text');
  });

  it('one flipped byte in .text: different, .text only, with a disassembly', async () => {
    const t = await sectionOffset(base, '.text');
    await patch(base, p('flip'), (b) => {
      b[t.offset + 20] = b[t.offset + 20]! ^ 0x01;
    });
    const c = await compare(base, p('flip'));
    expect(c.verdict).toBe('different');
    expect(regions(c)).toEqual(['.text']);
    const d = c.differences[0]!;
    expect(d.firstDifference).toBe(20);
    expect(d.differingBytes).toBe(1);
    expect(d.context?.kind).toBe('disassembly');
    expect(d.context?.a?.some((l) => l.startsWith('>'))).toBe(true);
    expect(c.b.elf?.buildIdMatches).toBe(false);
    expect(c.a.elf?.buildIdMatches).toBe(true);
  });

  it('changed .rodata string: different, .rodata, with a text diff', async () => {
    await patch(base, p('rodata'), (b) => {
      const i = b.indexOf('hello from rodata');
      b.write('HELLO', i, 'latin1');
    });
    const c = await compare(base, p('rodata'));
    expect(c.verdict).toBe('different');
    expect(regions(c)).toEqual(['.rodata']);
    expect(c.differences[0]!.context?.kind).toBe('text');
    expect(c.differences[0]!.context?.unified).toMatch(/\+HELLO from rodata/);
  });

  it('changed .data global: different, .data', async () => {
    const d = await sectionOffset(base, '.data');
    await patch(base, p('data'), (b) => {
      const i = b.indexOf(Buffer.from([0x87, 0xd6, 0x12, 0x00]), d.offset); // 1234567 LE
      if (i < 0 || i >= d.offset + d.size) throw new Error('counter not found in .data');
      b.writeUInt32LE(7654321, i);
    });
    const c = await compare(base, p('data'));
    expect(c.verdict).toBe('different');
    expect(regions(c)).toEqual(['.data']);
  });

  it('patched e_entry: different, header', async () => {
    await patch(base, p('entry'), (b) => {
      b.writeBigUInt64LE(b.readBigUInt64LE(24) + 4n, 24);
    });
    const c = await compare(base, p('entry'));
    expect(c.verdict).toBe('different');
    expect(regions(c)).toEqual(['header']);
    expect(c.differences[0]!.detail).toMatch(/e_entry/);
  });

  it('added non-allocated section: different, names it', async () => {
    await writeFile(p('foo.bin'), 'some extra data');
    await copyFile(base, p('foo'));
    await execa('objcopy', ['--add-section', `.foo=${p('foo.bin')}`, p('foo')]);
    const c = await compare(base, p('foo'));
    expect(c.verdict).toBe('different');
    expect(regions(c)).toEqual(['.foo']);
    expect(c.differences[0]!.detail).toMatch(/only in b/);
  });

  it('bytes appended: different, trailing — also when a is the stripped published file', async () => {
    await copyFile(base, p('appended'));
    await appendFile(p('appended'), 'PAYLOAD'.repeat(100));
    const c = await compare(base, p('appended'));
    expect(c.verdict).toBe('different');
    expect(regions(c)).toEqual(['trailing']);
    // A payload appended to the published, post-processed file must never compare equivalent.
    await copyFile(p('stripped'), p('stripped-payload'));
    await appendFile(p('stripped-payload'), 'PAYLOAD'.repeat(100));
    const s = await compare(p('stripped-payload'), base);
    expect(s.verdict).toBe('different');
    expect(regions(s)).toContain('trailing');
    // …nor the other way round (strip would drop it from the input of the simulation).
    const t = await compare(p('appended'), p('stripped'));
    expect(t.verdict).toBe('different');
    expect(regions(t)).toContain('trailing');
  });

  it('__DATE__/__TIME__ difference: different, .rodata with a timestamp hint', async () => {
    const x = await gcc(p('stamp'), p('stamp1'), STAMPED, [], { SOURCE_DATE_EPOCH: '1700000000' });
    const y = await gcc(p('stamp'), p('stamp2'), STAMPED, [], { SOURCE_DATE_EPOCH: '1790000000' });
    const c = await compare(x, y);
    expect(c.verdict).toBe('different');
    const ro = c.differences.find((d) => d.region === '.rodata');
    expect(ro?.hint).toBe('timestamp');
  });

  it('__FILE__ path difference: different, .rodata with a path hint', async () => {
    // __FILE__ holds the path the compiler was given: build from two directories by absolute path.
    const x = await gcc(p('one'), p('path1'), PATHED, [], {}, true);
    const y = await gcc(p('two-longer'), p('path2'), PATHED, [], {}, true);
    const c = await compare(x, y);
    expect(c.verdict).toBe('different');
    const ro = c.differences.find((d) => d.region === '.rodata');
    expect(ro?.hint).toBe('path');
  });

  it('truncated file: a RebuildError naming the file and what is wrong', async () => {
    const b = await readFile(base);
    await writeFile(p('trunc'), b.subarray(0, Math.floor(b.length / 2)));
    const err = await compare(base, p('trunc')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RebuildError);
    expect((err as RebuildError).subject).toBe(p('trunc'));
    expect((err as RebuildError).message).toMatch(/extends past end of file/);
  });

  it('reader: needed libraries, ABI tag and hardening of a fresh gcc binary', async () => {
    const src = await FileSource.open(base);
    try {
      const elf = await readElf(src);
      expect((await dynamicStrings(elf)).needed).toContain('libc.so.6');
      expect(abiTag(elf)).toMatch(/^Linux \d+\.\d+\.\d+$/);
      expect(elf.machineName).toBe('x86_64');
    } finally {
      await src.close();
    }
    const c = await compare(base, base);
    expect(c.a.elf?.hardening.nxStack).toBe(true);
    expect(c.a.elf?.hardening.static).toBe(false);
    expect(c.a.elf?.accounting.unaccounted).toBe(0);
  });

  // Page padding of an executable PT_LOAD is executable memory: the kernel maps
  // whole pages. A section header (or the section header table) moved there
  // must not make attacker bytes removable or "file layout".
  const execPageTail = async (
    file: string,
  ): Promise<{ at: number; shoff: number; shentsize: number; shnum: number }> => {
    const src = await FileSource.open(file);
    try {
      const elf = await readElf(src);
      const x = elf.segments.find(
        (s) => s.type === 1 && (s.flags & 1) !== 0 && s.memsz === BigInt(s.filesz),
      )!;
      const end = x.offset + x.filesz;
      const pageEnd = Math.ceil(end / 4096) * 4096;
      const h = elf.header;
      expect(pageEnd - end).toBeGreaterThan(h.shentsize * elf.sections.length + 64);
      return {
        at: pageEnd - h.shentsize * elf.sections.length - 16,
        shoff: h.shoff,
        shentsize: h.shentsize,
        shnum: elf.sections.length,
      };
    } finally {
      await src.close();
    }
  };
  const exit42 = Buffer.from('b83c000000bf2a0000000f05', 'hex'); // mov eax,60; mov edi,42; syscall

  it(".comment moved into an executable page's padding, holding code: different, and the file still runs", async () => {
    const t = await execPageTail(base);
    const comment = await sectionOffset(base, '.comment');
    const shstrtab = await sectionOffset(base, '.shstrtab');
    const attacked = await patch(base, p('comment-in-text-page'), (b) => {
      exit42.copy(b, t.at);
      for (let i = 0; i < t.shnum; i++) {
        const h = t.shoff + i * t.shentsize;
        const name = b.toString(
          'latin1',
          shstrtab.offset + b.readUInt32LE(h),
          shstrtab.offset + shstrtab.size,
        );
        if (!name.startsWith('.comment\0') || Number(b.readBigUInt64LE(h + 0x18)) !== comment.offset)
          continue;
        b.writeBigUInt64LE(BigInt(t.at), h + 0x18);
        b.writeBigUInt64LE(BigInt(exit42.length), h + 0x20);
      }
    });
    await chmod(attacked, 0o755);
    expect((await execa(attacked, [], { reject: false })).exitCode).toBe(0);
    const c = await compare(attacked, base);
    expect(c.verdict).toBe('different');
    expect(regions(c)).toContain('.comment');
  });

  it("section header table moved into an executable page's padding, code in unread fields: different", async () => {
    const plain = await gcc(p('src-g0'), p('plain'), SOURCE, ['-g0']);
    const t = await execPageTail(plain);
    const comment = await sectionOffset(plain, '.comment');
    const attacked = await patch(plain, p('sht-in-text-page'), (b) => {
      const table = Buffer.from(b.subarray(t.shoff, t.shoff + t.shnum * t.shentsize));
      // Code in .comment's sh_addr and sh_entsize: nothing reads them for a non-allocated section.
      for (let i = 0; i < t.shnum; i++) {
        if (Number(table.readBigUInt64LE(i * t.shentsize + 0x18)) === comment.offset) {
          exit42.copy(table, i * t.shentsize + 0x10, 0, 8); // sh_addr
          exit42.copy(table, i * t.shentsize + 0x38, 8); // sh_entsize
        }
      }
      table.copy(b, t.at);
      b.writeBigUInt64LE(BigInt(t.at), 0x28);
    });
    await chmod(attacked, 0o755);
    expect((await execa(attacked, [], { reject: false })).exitCode).toBe(0);
    const c = await compare(attacked, plain);
    expect(c.verdict).toBe('different');
    expect(c.differences.some((d) => /page padding|not zero padding/.test(d.detail))).toBe(true);
  });

  it('a non-allocated .debug_gdb_scripts added (gdb runs what it inlines): different', async () => {
    const script = p('gdb-script');
    await writeFile(script, Buffer.from('\x04gdb.inlined-script\nimport os\nos.system("id")\n\0', 'latin1'));
    const attacked = p('gdb-scripts');
    await execa('objcopy', [`--add-section=.debug_gdb_scripts=${script}`, base, attacked]);
    const c = await compare(attacked, base);
    expect(c.verdict).toBe('different');
    expect(regions(c)).toContain('.debug_gdb_scripts');
  });

  it('non-ELF text files: a text diff', async () => {
    await writeFile(p('t1'), 'one\ntwo\nthree\n');
    await writeFile(p('t2'), 'one\nTWO\nthree\n');
    const c = await compare(p('t1'), p('t2'));
    expect(c.verdict).toBe('different');
    expect(c.route).toBe('bytes');
    expect(c.a.format).toBe('text');
    expect(regions(c)).toEqual(['content']);
    expect(c.textDiff).toMatch(/-two\n\+TWO/);
  });
});

describe('two unrelated programs (different layouts)', () => {
  it('a section named on both sides at different offsets is two differences, each counted within its size', async () => {
    const c = await compare('/usr/bin/ls', '/usr/bin/cat');
    expect(c.verdict).toBe('different');
    const sized = c.differences.filter((d) => d.a && d.b && d.differingBytes !== undefined);
    expect(sized.length).toBeGreaterThan(0);
    for (const d of sized) {
      expect(d.differingBytes, d.region).toBeLessThanOrEqual(Math.max(d.a!.size, d.b!.size));
    }
    // ls's .dynamic and cat's .dynamic sit at other offsets: each is reported where it is
    const dynamic = c.differences.filter((d) => d.region === '.dynamic').map((d) => d.a!.offset);
    expect(new Set(dynamic).size).toBe(dynamic.length);
  });
});
