/**
 * Free fields of well-formed structures as hiding places (the section
 * header table, SystemTap probe addresses, compression headers).
 *
 * The section header table: no loader reads it, so an
 * attacker can fill the free fields of its entries (sh_addr of a section
 * that is not allocated, entries with no contents, bytes after each entry
 * when e_shentsize is larger than a header) with a payload while every
 * loaded byte stays the same. Each tampered file still runs; each must be
 * `different`, naming the table. The tables objcopy and strip write still
 * prove out (equivalent).
 */
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../src/forensics/compare.js';
import { readElf } from '../../src/forensics/elf/reader.js';
import { BufferSource } from '../../src/forensics/elf/source.js';
import { gcc, SOURCE } from './fixtures.js';

let dir: string;
let base: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-shtab-'));
  base = await gcc(join(dir, 'src'), join(dir, 'base'), SOURCE);
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Table {
  shoff: number;
  shnum: number;
}
const table = (b: Buffer): Table => ({ shoff: Number(b.readBigUInt64LE(0x28)), shnum: b.readUInt16LE(0x3c) });

/** Moves the table (stride `stride`) to the end of the file with `extra` entries after the real ones. */
function rewriteTable(b: Buffer, stride: number, extra: Buffer[], pad: (i: number) => Buffer): Buffer {
  const t = table(b);
  const old = b.subarray(t.shoff, t.shoff + 64 * t.shnum);
  const head = Buffer.from(b.subarray(0, t.shoff + 64 * t.shnum));
  head.fill(0, t.shoff);
  const align = Buffer.alloc((8 - (head.length % 8)) % 8);
  const entries: Buffer[] = [];
  for (let i = 0; i < t.shnum; i++) entries.push(old.subarray(i * 64, (i + 1) * 64), pad(i));
  for (const e of extra) entries.push(e, pad(t.shnum));
  const out = Buffer.concat([head, align, ...entries]);
  out.writeBigUInt64LE(BigInt(head.length + align.length), 0x28);
  out.writeUInt16LE(stride, 0x3a);
  out.writeUInt16LE(t.shnum + extra.length, 0x3c);
  return out;
}

/** x86-64 `int3; nop` shellcode stand-in, repeated. */
const shellcode = (n: number) => Buffer.alloc(n, Buffer.from([0xcc, 0x90]));

const attacks: Record<string, (b: Buffer) => Buffer> = {
  'entries with no contents whose fields carry a payload': (b) => {
    const extra: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const e = Buffer.alloc(64);
      e.writeUInt32LE(0x60001337, 4); // sh_type
      shellcode(16).copy(e, 8); // sh_flags, sh_addr
      shellcode(8).copy(e, 40); // sh_link, sh_info
      shellcode(16).copy(e, 48); // sh_addralign, sh_entsize
      extra.push(e);
    }
    return rewriteTable(b, 64, extra, () => Buffer.alloc(0));
  },
  'payload in sh_addr of sections that are not allocated': (b) => {
    const out = Buffer.from(b);
    const t = table(out);
    for (let i = 1; i < t.shnum; i++) {
      const o = t.shoff + i * 64;
      if ((out.readBigUInt64LE(o + 8) & 2n) === 0n) shellcode(8).copy(out, o + 16);
    }
    return out;
  },
  'a payload after each entry (e_shentsize larger than a header)': (b) =>
    rewriteTable(b, 64 + 256, [], () => shellcode(256)),
};

describe('section header table payloads', () => {
  for (const [name, craft] of Object.entries(attacks)) {
    it(`${name}: still runs, and is different`, async () => {
      const file = join(dir, name.replace(/\W+/g, '-'));
      await writeFile(file, craft(await readFile(base)));
      await chmod(file, 0o755);
      expect((await execa(file, ['x'])).stdout).toBe('x 1234569');
      const c = await compare(file, base, { context: false });
      expect(c.verdict).toBe('different');
      expect(c.differences.map((d) => d.region)).toContain('section header table');
    }, 60_000);
  }

  it('tables objcopy writes still prove out: equivalent', async () => {
    for (const args of [
      ['--strip-debug'],
      ['--remove-section=.comment'],
      ['--compress-debug-sections=zlib'],
    ]) {
      const out = join(dir, `objcopy${args[0]}`);
      await copyFile(base, out);
      await execa('objcopy', [...args, out]);
      // b (rebuilt) carries the debug information (and, compressed, its stream): a's would be unchecked;
      // and the .comment pkgforge removes.
      const [pa, pb] = args[0] === '--compress-debug-sections=zlib' ? [base, out] : [out, base];
      const c = await compare(pa, pb, { context: false });
      expect(c.differences).toEqual([]);
      expect(c.verdict).toBe('equivalent');
    }
  }, 60_000);
});

/** A SystemTap probe as <sys/sdt.h> writes it (pc, .stapsdt.base, semaphore 0). */
const PROBE = `#include <stdio.h>
int main(void) {
  __asm__ volatile("990: nop\\n"
    ".pushsection .note.stapsdt,\\"?\\",\\"note\\"\\n.balign 4\\n.4byte 992f-991f, 994f-993f, 3\\n"
    "991: .asciz \\"stapsdt\\"\\n992: .balign 4\\n993: .8byte 990b\\n.8byte _.stapsdt.base\\n.8byte 0\\n"
    ".asciz \\"prov\\"\\n.asciz \\"probe1\\"\\n.asciz \\"\\"\\n994: .balign 4\\n.popsection\\n"
    ".ifndef _.stapsdt.base\\n.pushsection .stapsdt.base,\\"aG\\",\\"progbits\\",.stapsdt.base,comdat\\n"
    ".weak _.stapsdt.base\\n.hidden _.stapsdt.base\\n_.stapsdt.base: .space 1\\n.size _.stapsdt.base, 1\\n"
    ".popsection\\n.endif\\n");
  puts("probed");
  return 0;
}
`;

describe('free fields of notes and compression headers', () => {
  let probed: string;
  beforeAll(async () => {
    probed = await gcc(join(dir, 'probe-src'), join(dir, 'probed'), PROBE);
  }, 60_000);

  it('a real SystemTap probe note proves out: equivalent without it', async () => {
    const out = join(dir, 'unprobed');
    await execa('objcopy', ['--remove-section=.note.stapsdt', probed, out]);
    const c = await compare(out, probed, { context: false });
    expect(c.differences).toEqual([]);
    expect(c.verdict).toBe('equivalent');
  }, 60_000);

  it('probe addresses that carry a payload: still runs, and is different', async () => {
    const b = await readFile(probed);
    const at = b.indexOf(Buffer.from('stapsdt\0', 'latin1'));
    expect(at).toBeGreaterThan(0);
    shellcode(24).copy(b, at + 8); // pc, base, semaphore
    const out = join(dir, 'probe-payload');
    await writeFile(out, b);
    await chmod(out, 0o755);
    expect((await execa(out)).stdout).toBe('probed');
    const c = await compare(out, probed, { context: false });
    expect(c.verdict).toBe('different');
    expect(c.differences.map((d) => d.region)).toContain('.note.stapsdt');
  }, 60_000);

  it('a compression header whose reserved field carries bytes: different', async () => {
    const zipped = join(dir, 'zipped');
    await execa('objcopy', ['--compress-debug-sections=zlib', base, zipped]);
    const b = await readFile(zipped);
    const elf = await readElf(new BufferSource(b, zipped));
    const s = elf.sections.find((x) => x.name === '.debug_info');
    expect(s && (s.flags & 0x800n) !== 0n).toBe(true);
    shellcode(4).copy(b, s!.offset + 4); // ch_reserved
    const out = join(dir, 'zipped-payload');
    await writeFile(out, b);
    const c = await compare(out, base, { context: false });
    expect(c.verdict).toBe('different');
    expect(c.differences.map((d) => d.region)).toContain('.debug_info');
  }, 60_000);
});

describe('free fields of symbol tables', () => {
  /** Moves .symtab to the end of the file with `extra` 24-byte entries after the real ones. */
  function growSymtab(b: Buffer, extra: (i: number) => Buffer, n: number): Buffer {
    const t = table(b);
    for (let i = 0; i < t.shnum; i++) {
      const o = t.shoff + i * 64;
      if (b.readUInt32LE(o + 4) !== 2) continue;
      const off = Number(b.readBigUInt64LE(o + 24));
      const size = Number(b.readBigUInt64LE(o + 32));
      const syms = Buffer.from(b.subarray(off, off + size));
      b.fill(0, off, off + size);
      const added = Array.from({ length: n }, (_, k) => extra(k));
      const at = b.length + ((8 - (b.length % 8)) % 8);
      b.writeBigUInt64LE(BigInt(at), o + 24);
      b.writeBigUInt64LE(BigInt(size + 24 * n), o + 32);
      return Buffer.concat([b, Buffer.alloc(at - b.length), syms, ...added]);
    }
    throw new Error('no .symtab');
  }
  /** A nameless global absolute symbol whose value and size are 16 bytes of payload. */
  const absolute = (sized: boolean) => () => {
    const e = Buffer.alloc(24);
    e.writeUInt8(0x10, 4); // GLOBAL NOTYPE
    e.writeUInt16LE(0xfff1, 6); // SHN_ABS
    shellcode(sized ? 16 : 8).copy(e, 8);
    return e;
  };

  for (const [name, craft] of [
    ['nameless sized absolute symbols', absolute(true)],
    ['nameless absolute symbols', absolute(false)],
  ] as const) {
    it(`${name} carrying a payload: still runs, and is different`, async () => {
      const out = join(dir, name.replace(/\W+/g, '-'));
      await writeFile(out, growSymtab(await readFile(base), craft, 2000));
      await chmod(out, 0o755);
      expect((await execa(out, ['x'])).stdout).toBe('x 1234569');
      const c = await compare(out, base, { context: false });
      expect(c.verdict).toBe('different');
      expect(c.differences.map((d) => d.region)).toContain('.symtab');
    }, 60_000);
  }
});

describe('free fields of GNU property notes outside the loaded image', () => {
  /** A GNU NT_GNU_PROPERTY_TYPE_0 note holding `props` ([type, 4-byte value]), 8-byte aligned. */
  const note = (props: Array<[number, number]>) => {
    const desc = Buffer.alloc(16 * props.length);
    props.forEach(([t, v], i) => {
      desc.writeUInt32LE(t, 16 * i);
      desc.writeUInt32LE(4, 16 * i + 4);
      desc.writeUInt32LE(v, 16 * i + 8);
    });
    const head = Buffer.alloc(12);
    head.writeUInt32LE(4, 0);
    head.writeUInt32LE(desc.length, 4);
    head.writeUInt32LE(5, 8);
    return Buffer.concat([head, Buffer.from('GNU\0', 'latin1'), desc]);
  };
  /** Compares the file with the note (as a, or as b with `rebuilt`) against the one without. */
  const withNote = async (name: string, bytes: Buffer, rebuilt = false) => {
    const contents = join(dir, `${name}.bin`);
    await writeFile(contents, bytes);
    const out = join(dir, name);
    await execa('objcopy', [
      `--add-section=.note.extra=${contents}`,
      '--set-section-alignment=.note.extra=8',
      base,
      out,
    ]);
    expect((await execa(out, ['x'])).stdout).toBe('x 1234569');
    return rebuilt ? compare(base, out, { context: false }) : compare(out, base, { context: false });
  };

  it('the properties a linker writes (known types, sorted): equivalent in the rebuilt file, different only in the published one', async () => {
    const props = note([
      [0xc0000002, 3],
      [0xc0008002, 1],
    ]);
    const c = await withNote('props-real', props, true);
    expect(c.differences).toEqual([]);
    expect(c.verdict).toBe('equivalent');
    // Post-processing only removes notes: one only the published file carries is its own.
    const d = await withNote('props-real', props);
    expect(d.verdict).toBe('different');
    // Its name is a's own too (no section of b's is called that): the name table differs as well.
    expect(d.differences.map((x) => x.region).sort()).toEqual(['.note.extra', '.shstrtab']);
  }, 60_000);

  it('properties of made-up types, or repeated, carrying a payload: different', async () => {
    const made = Array.from({ length: 16 }, (_, i): [number, number] => [0xcc90cc90 + i, 0x90cc90cc]);
    const repeated = Array.from({ length: 16 }, (): [number, number] => [0xc0000002, 0x90cc90cc]);
    for (const [name, props] of [
      ['props-made-up', made],
      ['props-repeated', repeated],
    ] as const) {
      const c = await withNote(name, Buffer.concat(Array.from({ length: 64 }, () => note(props))));
      expect(c.verdict).toBe('different');
      expect(c.differences.map((d) => d.region)).toContain('.note.extra');
    }
  }, 60_000);
});

const hasRust = await execa('rustc', ['--version']).then(
  () => true,
  () => false,
);

describe('honest debug information from LLVM', () => {
  // Skipped only outside CI, where the set-up script installs rustc.
  it.skipIf(!hasRust && !process.env.CI)(
    'rustc -g (LLVM fills .debug_aranges padding with 0xff) vs objcopy --strip-debug: equivalent',
    async () => {
      const src = join(dir, 'hello.rs');
      await writeFile(src, 'fn main() { println!("rs"); }\n');
      const full = join(dir, 'rust-g');
      await execa('rustc', ['-g', '-o', full, src]);
      const stripped = join(dir, 'rust-g-sd');
      await execa('objcopy', ['--strip-debug', full, stripped]);
      const c = await compare(stripped, full, { context: false });
      expect(c.differences).toEqual([]);
      expect(c.verdict).toBe('equivalent');
    },
    120_000,
  );
});
