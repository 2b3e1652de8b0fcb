/**
 * The forensic verdicts on other compilers and machines, built on the host
 * from Debian's packages (scripts/setup-engine.sh --with-test-tools): gcc for
 * x86_64 and (cross) aarch64, clang +
 * lld, Go (static, its own linker: section headers inside the first LOAD, a
 * Go build-id note), i386 (i686-linux-gnu-gcc), and big-endian s390x and mips
 * (cross gcc, run with qemu-user and the cross sysroot). For each: the honest
 * cases get the right verdict, the key attacks and the program-header attacks
 * (test/forensics/attacks.ts) get `different` (or a clean input error where
 * stated), and the tampered files that should still run do run.
 */
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../src/forensics/compare.js';
import { PF, PT } from '../../src/forensics/elf/constants.js';
import { readElf } from '../../src/forensics/elf/reader.js';
import { BufferSource } from '../../src/forensics/elf/source.js';
import type { Comparison } from '../../src/forensics/types.js';
import { RebuildError } from '../../src/util/errors.js';
import { type HeaderAttack, makeToolchainAttacks } from './attacks.js';
import { buildIdInExecutableLoad } from './corpus.js';
import { SOURCE } from './fixtures.js';

const GO_SOURCE = `package main

import "os"

func main() { os.Stdout.WriteString("hello from go " + os.Args[0][:1] + "\\n") }
`;

type Variant = 'base' | 'same' | 'buildid';

interface Toolchain {
  name: string;
  /** Commands that must be on PATH. */
  tools: string[];
  /** readelf -h "Machine:" text. */
  machine: string;
  build: (src: string, out: string, variant: Variant) => Promise<void>;
  /** Prefix of the command that runs a binary (qemu-user with the cross sysroot). */
  runner: string[];
  /** Triplet prefix of the binutils pkgforge's post-processing uses for this machine. */
  binutils: string;
  /** A section name the file has, borrowed by the header laid over the cave. */
  cover: string;
  buildId: boolean;
}

const cc =
  (compiler: string, extra: string[], buildId: string): Toolchain['build'] =>
  async (src, out, variant) => {
    await writeFile(join(src, 'prog.c'), SOURCE);
    const id = variant === 'buildid' ? [`-Wl,--build-id=${buildId}`] : [];
    await execa(compiler, ['-O2', '-g', ...extra, ...id, '-o', out, 'prog.c'], { cwd: src });
  };

const SHA1_ID = '0x0123456789abcdef0123456789abcdef01234567';

const goBuild: Toolchain['build'] = async (src, out, variant) => {
  await writeFile(join(src, 'main.go'), GO_SOURCE);
  // the same length as the default build id (83 characters), so that only its bytes change
  const id = variant === 'buildid' ? [`-ldflags=-buildid=${'rebuild-corpus/'.repeat(6).slice(0, 83)}`] : [];
  await execa('go', ['build', '-trimpath', ...id, '-o', out, 'main.go'], {
    cwd: src,
    env: {
      GOCACHE: join(src, 'gocache'),
      GOPATH: join(src, 'gopath'),
      GO111MODULE: 'off',
      CGO_ENABLED: '0',
      GOFLAGS: '-buildvcs=false',
    },
  });
};

/** A Debian cross gcc for `triplet`, its binaries run by qemu-user over the cross sysroot. */
const crossGcc = (
  name: string,
  triplet: string,
  qemu: string,
  machine: string,
  extra: string[] = [],
): Toolchain => ({
  name,
  tools: [`${triplet}-gcc`, `qemu-${qemu}-static`],
  machine,
  build: cc(`${triplet}-gcc`, extra, SHA1_ID),
  runner: [`qemu-${qemu}-static`, '-L', `/usr/${triplet}`],
  binutils: `${triplet}-`,
  cover: '.comment',
  buildId: true,
});

/** A compiler whose binaries run on the host. */
const hostCc = (name: string, tools: string[], build: Toolchain['build']): Toolchain => ({
  name,
  tools,
  machine: 'X86-64',
  build,
  runner: [],
  binutils: '',
  cover: '.comment',
  buildId: true,
});

const TOOLCHAINS: Toolchain[] = [
  hostCc('gcc (x86_64, host)', ['gcc'], cc('gcc', [], SHA1_ID)),
  crossGcc('gcc aarch64 (cross)', 'aarch64-linux-gnu', 'aarch64', 'AArch64'),
  // lld's default layout leaves no padding in the executable LOAD; with separate code it does (filled with int3).
  hostCc(
    'clang + lld (x86_64)',
    ['clang', 'ld.lld'],
    cc('clang', ['-fuse-ld=lld', '-Wl,-z,separate-code'], '0x0123456789abcdef'),
  ),
  // Go's linker writes no GNU build-id note; the header over the cave borrows .symtab's name.
  { ...hostCc('Go (x86_64, static, Go linker)', ['go'], goBuild), cover: '.symtab', buildId: false },
  crossGcc('gcc i686 (i386, 32-bit)', 'i686-linux-gnu', 'i386', 'Intel 80386'),
  crossGcc('gcc s390x (64-bit big-endian)', 's390x-linux-gnu', 's390x', 'IBM S/390'),
  // The default mips layout packs every section back to back: no padding to hide a
  // payload in. With separate code segments there is, as on x86_64 and aarch64.
  crossGcc('gcc mips (32-bit big-endian)', 'mips-linux-gnu', 'mips', 'MIPS R3000', ['-Wl,-z,separate-code']),
];

const onPath = async (tool: string) =>
  execa('sh', ['-c', `command -v ${tool}`]).then(
    () => true,
    () => false,
  );

async function runBinary(t: Toolchain, file: string) {
  const [cmd, ...args] = [...t.runner, file];
  const r = await execa(cmd!, args, { reject: false, timeout: 30_000, stdin: 'ignore' });
  return { rc: r.exitCode, out: r.stdout.split('\n')[0] ?? '' };
}

/** pkgforge's post-processing with the binutils of the file's machine. */
async function pkgforgeStrip(t: Toolchain, input: string, out: string) {
  await copyFile(input, out);
  await execa(`${t.binutils}objcopy`, ['--remove-section=.comment', '--remove-section=.note.*', out]);
  await execa(`${t.binutils}strip`, ['--strip-all', out]);
}

const summary = (c: Comparison) =>
  JSON.stringify({ verdict: c.verdict, route: c.route, differences: c.differences }, (k, v) =>
    k === 'context' ? undefined : v,
  );

let root: string;
beforeAll(async () => {
  root = join(tmpdir(), `rebuild-cross-${process.pid}`);
  await mkdir(root, { recursive: true });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

for (const t of TOOLCHAINS) {
  const missing = (await Promise.all(t.tools.map(async (x) => ((await onPath(x)) ? '' : x)))).filter(Boolean);
  // Skipped only outside CI: the set-up script installs every toolchain, so in CI a
  // missing one fails (its beforeAll names the tool) instead of passing silently.
  describe.skipIf(missing.length > 0 && !process.env.CI)(
    `${t.name}${missing.length ? ` (missing ${missing.join(', ')})` : ''}`,
    () => {
      let dir: string;
      const p = (n: string) => join(dir, n);
      let attacks: HeaderAttack[] = [];

      beforeAll(async () => {
        dir = join(root, t.name.replace(/\W+/g, '-'));
        const src = join(dir, 'src');
        await mkdir(src, { recursive: true });
        for (const v of ['base', 'same', 'buildid'] as const) await t.build(src, p(v), v);
        await pkgforgeStrip(t, p('base'), p('pkgforge'));
        attacks = await makeToolchainAttacks(dir, { cover: t.cover, buildId: t.buildId });
      }, 240_000);

      it('built for the machine, and runs', async () => {
        const { stdout } = await execa('readelf', ['-h', p('base')]);
        expect(stdout).toContain(t.machine);
        const r = await runBinary(t, p('base'));
        expect(r.rc).toBe(0);
        expect(r.out).toContain('hello from');
      });

      it('the same build twice: identical', async () => {
        const c = await compare(p('base'), p('same'));
        expect(c.verdict, summary(c)).toBe('identical');
      });

      it("pkgforge's post-processing of the published file vs the unstripped rebuild: equivalent", async () => {
        const c = await compare(p('pkgforge'), p('base'));
        expect(c.verdict, summary(c)).toBe('equivalent');
        expect(c.route).toBe('post-processing');
      });

      it('only the build-id differs: equivalent, or different blaming only the note when it is loaded executable', async () => {
        const c = await compare(p('base'), p('buildid'));
        const blamed = c.differences.map((d) => d.region).filter((r) => r.startsWith('.'));
        if (await buildIdLoadedExecutable(p('buildid'))) {
          expect(c.verdict, summary(c)).toBe('different');
          expect(blamed.length, summary(c)).toBeGreaterThan(0);
          expect(
            blamed.every((r) => r.startsWith('.note')),
            summary(c),
          ).toBe(true);
        } else {
          expect(c.verdict, summary(c)).toBe('equivalent');
          expect(c.explanations.map((e) => e.kind)).toContain('build-id');
        }
      });

      it('every attack gets its expected verdict, and the tampered files that should run still do', async () => {
        const ref = await runBinary(t, p('base'));
        expect(attacks.length).toBeGreaterThan(8);
        for (const x of attacks) {
          const label = `${t.name} ${x.name} (${x.what}) vs ${x.against}`;
          const c = await compare(p(x.name), p(x.against)).catch((e: unknown) => e);
          if (c instanceof RebuildError) {
            expect(x.errorAccepted, `${label}: ${c.describe()}`).toBe(true);
            expect(c.category, label).toBe('input');
            expect(c.describe(), label).toContain(x.name);
            continue;
          }
          if (c instanceof Error) throw c;
          const r = c as Comparison;
          expect(r.verdict, `${label}\n${summary(r)}`).toBe(await expected(x, p(x.against)));
          if (x.runs) expect(await runBinary(t, p(x.name)), `${label} still runs like base`).toEqual(ref);
        }
      });

      it.runIf(t.name.startsWith('Go'))(
        "two unstripped Go binaries differing only in a symbol name: equivalent, not a false alarm; in a shared symbol's st_size: different",
        async () => {
          const buf = await readFile(p('base'));
          const elf = await readElf(new BufferSource(Buffer.from(buf), 'base'));
          const strtab = elf.sections.find((s) => s.name === '.strtab')!;
          const symtab = elf.sections.find((s) => s.name === '.symtab')!;
          const b = Buffer.from(buf);
          b[strtab.offset + strtab.size - 2] = 0x5a; // one symbol name
          await writeFile(p('symtab-only'), b);
          const c = await compare(p('base'), p('symtab-only'));
          expect(c.verdict, summary(c)).toBe('equivalent');
          expect(c.explanations.map((e) => e.kind)).toContain('symbols');
          // A symbol both sides hold (same name and value) must keep b's size.
          const sized = Buffer.from(buf);
          let ent = symtab.offset + 24; // the first sized symbol after the null entry
          while (sized.readBigUInt64LE(ent + 16) === 0n) ent += 24;
          sized.writeBigUInt64LE(sized.readBigUInt64LE(ent + 16) + 1n, ent + 16);
          await writeFile(p('symtab-size'), sized);
          const d = await compare(p('symtab-size'), p('base'));
          expect(d.verdict, summary(d)).toBe('different');
          expect(d.differences.map((x) => x.region)).toContain('.symtab');
        },
      );
    },
  );
}

/**
 * Whether the build-id note could be executed: in an executable LOAD, or
 * anywhere when the stack is executable or unstated (READ_IMPLIES_EXEC; the
 * mips toolchain marks its stack RWE).
 */
async function buildIdLoadedExecutable(path: string): Promise<boolean> {
  if (await buildIdInExecutableLoad(path)) return true;
  // Go's note (.note.go.buildid) sits in the first, executable LOAD.
  const elf = await readElf(new BufferSource(Buffer.from(await readFile(path)), path));
  const stack = elf.segments.find((s) => s.type === PT.GNU_STACK);
  if (!stack || (stack.flags & PF.X) !== 0) return true;
  const go = elf.sections.find((s) => s.name === '.note.go.buildid');
  return (
    go !== undefined &&
    elf.segments.some(
      (s) =>
        s.type === PT.LOAD &&
        (s.flags & PF.X) !== 0 &&
        s.offset <= go.offset &&
        go.offset < s.offset + s.filesz,
    )
  );
}

/** The attack's expected verdict for this file (written with the attack; see attacks.ts). */
async function expected(x: HeaderAttack, against: string) {
  if (x.expectIfNoteExecutable && (await buildIdLoadedExecutable(against))) return x.expectIfNoteExecutable;
  return x.expect;
}
