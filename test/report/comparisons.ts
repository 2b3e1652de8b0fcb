/**
 * Hand-built Comparison documents for the report tests: one per verdict and
 * route, with the awkward parts (hostile strings, long lines) the renderers
 * must survive.
 */
import { createTwoFilesPatch } from 'diff';
import type {
  AccountingSummary,
  Comparison,
  ElfFacts,
  FileFacts,
  Hardening,
} from '../../src/forensics/types.js';

export const HOSTILE_SCRIPT = "<script>document.title='pwned'</script>";
export const HOSTILE_IMG = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">";
export const HOSTILE_URL = 'https://evil.example/beacon.png';

const HASH = {
  a: '3f2a9c1be07d55a4a1e0c6d2b97f0e4c8a6d1b2e3f405162738495a6b7c8d9e0',
  b: '9c1b3f2ae07d55a4a1e0c6d2b97f0e4c8a6d1b2e3f405162738495a6b7c8d9e1',
  a3: 'b3a1000000000000aaaaaaaaaaaaaaaa1111111111111111ffffffffffffff01',
  b3: 'b3b2000000000000bbbbbbbbbbbbbbbb2222222222222222eeeeeeeeeeeeee02',
};

export const FULL_HARDENING: Hardening = {
  pie: true,
  relro: 'full',
  bindNow: true,
  nxStack: true,
  cetIbt: true,
  cetShstk: true,
  bti: false,
  pac: false,
  stackProtector: true,
  static: false,
};

/** A consistent accounting for a file of `size` bytes (the categories add up to it). */
function accounting(size: number, over: Partial<AccountingSummary> = {}): AccountingSummary {
  const base = {
    header: 64,
    programHeaders: 13 * 56,
    sectionHeaders: 31 * 64,
    zeroPadding: 1_800,
    unaccounted: 0,
    trailing: 0,
    unaccountedRanges: [],
    ...over,
  };
  const sections =
    size -
    base.header -
    base.programHeaders -
    base.sectionHeaders -
    base.zeroPadding -
    base.unaccounted -
    base.trailing;
  return { ...base, sections };
}

const SIZE = { a: 14_472, b: 16_752 };

function elf(over: Partial<ElfFacts> = {}, size = SIZE.a): ElfFacts {
  return {
    class: 64,
    endian: 'little',
    machine: 'x86_64',
    type: 'DYN',
    entry: '0x1060',
    sections: 31,
    segments: 13,
    buildId: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    buildIdMatches: true,
    hardening: FULL_HARDENING,
    accounting: accounting(size),
    ...over,
  };
}

function file(side: 'a' | 'b', over: Partial<FileFacts> = {}): FileFacts {
  return {
    path: side === 'a' ? '/tmp/published/hello' : '/tmp/out/hello',
    size: SIZE[side],
    sha256: side === 'a' ? HASH.a : HASH.b,
    blake3: side === 'a' ? HASH.a3 : HASH.b3,
    format: 'elf',
    elf: elf({}, SIZE[side]),
    ...over,
  };
}

export function identical(): Comparison {
  const a = file('a');
  return {
    schema: 'rebuild.compare/1',
    verdict: 'identical',
    route: 'identical',
    a,
    b: { ...a, path: '/tmp/out/hello' },
    explanations: [],
    differences: [],
    hardening: { a: FULL_HARDENING, b: FULL_HARDENING, differs: [] },
    durationMs: 3,
  };
}

/** a = pkgforge's objcopy+strip applied to b: RELRO and CET properties lost. */
export function equivalentPostProcessing(): Comparison {
  const lost: Hardening = {
    ...FULL_HARDENING,
    relro: 'none',
    cetIbt: false,
    cetShstk: false,
    stackProtector: null,
  };
  return {
    schema: 'rebuild.compare/1',
    verdict: 'equivalent',
    route: 'post-processing',
    a: file('a', {
      elf: elf({ buildId: undefined, buildIdMatches: undefined, sections: 27, hardening: lost }),
    }),
    b: file('b', { elf: elf({ sections: 36, segments: 13 }, SIZE.b) }),
    explanations: [
      {
        kind: 'comment',
        detail: '.comment removed (GCC: (Debian 12.2.0-14) 12.2.0)',
        region: '.comment',
        b: { offset: 0x3010, size: 0x2b },
      },
      {
        kind: 'build-id',
        detail: '.note.gnu.build-id removed',
        region: '.note.gnu.build-id',
        b: { offset: 0x358, size: 0x24 },
      },
      {
        kind: 'notes',
        detail: '.note.gnu.property and .note.ABI-tag removed',
        region: '.note.gnu.property',
        b: { offset: 0x338, size: 0x20 },
      },
      {
        kind: 'symbols',
        detail: '.symtab (36 symbols) and .strtab removed',
        region: '.symtab',
        b: { offset: 0x3040, size: 0x360 },
      },
      { kind: 'post-processing', detail: 'PT_GNU_RELRO dropped by strip', region: 'header' },
    ],
    differences: [],
    hardening: {
      a: lost,
      b: FULL_HARDENING,
      differs: ['relro', 'cetIbt', 'cetShstk', 'stackProtector'],
    },
    postProcessing: {
      steps: [
        "objcopy --remove-section=.comment --remove-section='.note.*' hello",
        'strip --strip-all hello',
      ],
      // Deliberately not in "hardening first" order: the renderer puts losses first.
      changes: [
        'removed .comment (43 bytes)',
        'removed .note.gnu.build-id, .note.gnu.property, .note.ABI-tag',
        'removed .symtab and .strtab',
        'dropped the GNU_RELRO program header: RELRO hardening lost',
        'emptied PT_GNU_PROPERTY: CET IBT/SHSTK properties lost',
      ],
      matches: true,
      tool: 'strip (GNU Binutils for Debian) 2.40',
    },
    durationMs: 41,
  };
}

export const RODATA_A = ['Hello, world!', 'built on Jan  1 2025 12:00:00', 'usage: hello [-v]'].join('\n');
export const RODATA_B = ['Hello, world!', 'built on Mar 14 2025 09:26:53', 'usage: hello [-v]'].join('\n');

/** Code and data differ: every kind of difference and hostile strings. */
export function different(): Comparison {
  const hostilePath = `/tmp/${HOSTILE_SCRIPT}/hello|pipe\`tick\x1b[31m`;
  return {
    schema: 'rebuild.compare/1',
    verdict: 'different',
    route: 'accounting',
    a: file('a', { path: hostilePath }),
    b: file('b', {
      elf: elf(
        {
          entry: '0x1070',
          buildIdMatches: false,
          hardening: { ...FULL_HARDENING, bindNow: false, relro: 'partial' },
          accounting: accounting(SIZE.b, {
            trailing: 16,
            unaccountedRanges: [{ offset: 0x4170 - 16, size: 16 }],
          }),
        },
        SIZE.b,
      ),
    }),
    explanations: [
      { kind: 'debug', detail: '.debug_info and 4 more debug sections differ', region: '.debug_info' },
    ],
    differences: [
      {
        region: '.text',
        detail: '1 byte differs in executable code',
        a: { offset: 0x1060, size: 0x113 },
        b: { offset: 0x1060, size: 0x113 },
        firstDifference: 0x1a2 - 0x160,
        differingBytes: 1,
        context: {
          kind: 'disassembly',
          a: [
            '    1140:\t55                   \tpush   %rbp',
            '    1141:\t48 89 e5             \tmov    %rsp,%rbp',
            '    1144:\tb8 2a 00 00 00       \tmov    $0x2a,%eax',
            '    1149:\t5d                   \tpop    %rbp',
            `    114a:\tc3                   \tret    # ${HOSTILE_IMG}`,
          ],
          b: [
            '    1140:\t55                   \tpush   %rbp',
            '    1141:\t48 89 e5             \tmov    %rsp,%rbp',
            '    1144:\tb8 2b 00 00 00       \tmov    $0x2b,%eax',
            '    1149:\t5d                   \tpop    %rbp',
            `    114a:\tc3                   \tret    # ${HOSTILE_IMG}`,
          ],
        },
      },
      {
        region: '.rodata',
        detail: 'strings differ: a build date',
        hint: 'timestamp',
        a: { offset: 0x2000, size: 0x48 },
        b: { offset: 0x2000, size: 0x48 },
        firstDifference: 0x17,
        differingBytes: 20,
        context: {
          kind: 'text',
          unified: createTwoFilesPatch(
            'a/.rodata',
            'b/.rodata',
            `${RODATA_A}\n${HOSTILE_SCRIPT}\n`,
            `${RODATA_B}\n${HOSTILE_SCRIPT}\n`,
          ),
        },
      },
      {
        region: 'header',
        detail: `entry point 0x1060 → 0x1070 ${HOSTILE_URL}`,
        a: { offset: 0x18, size: 8 },
        b: { offset: 0x18, size: 8 },
        firstDifference: 0,
        differingBytes: 1,
        context: {
          kind: 'hex',
          a: ['00000018  60 10 00 00 00 00 00 00  |`.......|'],
          b: ['00000018  70 10 00 00 00 00 00 00  |p.......|'],
        },
      },
      {
        region: '.weird|sec`x',
        detail: 'section only in b (non-allocated)',
        b: { offset: 0x4100, size: 0x70 },
      },
      {
        region: 'trailing',
        detail: '16 bytes after the end of the ELF image that no header describes',
        b: { offset: 0x4160, size: 16 },
        context: {
          kind: 'hex',
          b: ['00004160  50 41 59 4c 4f 41 44 21  de ad be ef 00 00 00 01  |PAYLOAD!........|'],
        },
      },
    ],
    hardening: {
      a: FULL_HARDENING,
      b: { ...FULL_HARDENING, bindNow: false, relro: 'partial' },
      differs: ['relro', 'bindNow'],
    },
    postProcessing: {
      steps: [
        "objcopy --remove-section=.comment --remove-section='.note.*' hello",
        'strip --strip-all hello',
      ],
      changes: ['removed .comment'],
      matches: false,
      tool: 'strip (GNU Binutils for Debian) 2.40',
    },
    durationMs: 57,
  };
}

export const CONFIG_A = 'name = hello\nversion = 1.0\nbuilt = 2025-01-01T12:00:00Z\n';
export const CONFIG_B = 'name = hello\nversion = 1.0\nbuilt = 2025-03-14T09:26:53Z\n';

export function textFiles(): Comparison {
  return {
    schema: 'rebuild.compare/1',
    verdict: 'different',
    route: 'bytes',
    a: {
      path: '/tmp/published/hello.conf',
      size: CONFIG_A.length,
      sha256: HASH.a,
      blake3: HASH.a3,
      format: 'text',
    },
    b: {
      path: '/tmp/out/hello.conf',
      size: CONFIG_B.length,
      sha256: HASH.b,
      blake3: HASH.b3,
      format: 'text',
    },
    explanations: [],
    differences: [
      {
        region: 'bytes',
        detail: 'line 3 differs',
        hint: 'timestamp',
        a: { offset: 0, size: CONFIG_A.length },
        b: { offset: 0, size: CONFIG_B.length },
        firstDifference: 33,
        differingBytes: 16,
      },
    ],
    textDiff: createTwoFilesPatch('a/hello.conf', 'b/hello.conf', CONFIG_A, CONFIG_B),
    durationMs: 1,
  };
}
