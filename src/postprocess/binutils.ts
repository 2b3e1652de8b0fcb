/**
 * Finds GNU binutils (objcopy, strip, objdump) that understand a given ELF
 * e_machine. A host's own binutils handle its architecture (x86_64 binutils
 * also handle i386), so foreign targets need a Debian cross package
 * (`binutils-aarch64-linux-gnu`, …) or `binutils-multiarch`. Every candidate
 * is asked for its supported BFD targets (`objcopy --help`) and kept only when
 * it names the machine's: never fall back to `strip -F elf64-little`, which
 * rewrites the file with e_machine zeroed.
 *
 * Lookups scan PATH and ask each candidate `<objcopy> --version` and
 * `--help` (side by side, remembered across runs: binutils-cache.ts); results are cached for the life of the process.
 */
import { executablesOnPath } from '../util/tool-version.js';
import { askObjcopy } from './binutils-cache.js';

export interface Binutils {
  objcopy: string;
  strip: string;
  objdump: string;
  /** First line of `objcopy --version`, e.g. `GNU objcopy (GNU Binutils for Debian) 2.40`. */
  version: string;
}

/** e_machine values rebuild names, with the GNU triplets whose binutils handle them. */
interface MachineInfo {
  name: string;
  /** Node's process.arch values for which the host's unprefixed tools are tried first. */
  nodeArch?: readonly string[];
  triplets: readonly string[];
  /** BFD target names (as `objcopy --help` lists them) any of which means "understands this machine". */
  bfd: readonly string[];
  /** The Debian package to name in the fix. */
  debian: string;
}

export const MACHINES: Readonly<Record<number, MachineInfo>> = {
  3: {
    name: 'i386',
    nodeArch: ['ia32', 'x64'],
    triplets: ['i686-linux-gnu', 'x86_64-linux-gnu'],
    bfd: ['elf32-i386'],
    debian: 'binutils-i686-linux-gnu',
  },
  8: {
    name: 'mips',
    nodeArch: ['mips', 'mipsel'],
    triplets: ['mips-linux-gnu', 'mipsel-linux-gnu', 'mips64el-linux-gnuabi64', 'mips64-linux-gnuabi64'],
    bfd: ['elf32-tradbigmips', 'elf32-tradlittlemips', 'elf64-tradbigmips', 'elf64-tradlittlemips'],
    debian: 'binutils-mips-linux-gnu',
  },
  20: {
    name: 'ppc',
    triplets: ['powerpc-linux-gnu'],
    bfd: ['elf32-powerpc'],
    debian: 'binutils-powerpc-linux-gnu',
  },
  21: {
    name: 'ppc64',
    nodeArch: ['ppc64'],
    triplets: ['powerpc64le-linux-gnu', 'powerpc64-linux-gnu'],
    bfd: ['elf64-powerpcle', 'elf64-powerpc'],
    debian: 'binutils-powerpc64le-linux-gnu',
  },
  22: {
    name: 's390',
    nodeArch: ['s390x'],
    triplets: ['s390x-linux-gnu'],
    bfd: ['elf64-s390'],
    debian: 'binutils-s390x-linux-gnu',
  },
  40: {
    name: 'arm',
    nodeArch: ['arm'],
    triplets: ['arm-linux-gnueabihf', 'arm-linux-gnueabi'],
    bfd: ['elf32-littlearm', 'elf32-bigarm'],
    debian: 'binutils-arm-linux-gnueabihf',
  },
  62: {
    name: 'x86_64',
    nodeArch: ['x64'],
    triplets: ['x86_64-linux-gnu'],
    bfd: ['elf64-x86-64'],
    debian: 'binutils-x86-64-linux-gnu',
  },
  183: {
    name: 'aarch64',
    nodeArch: ['arm64'],
    triplets: ['aarch64-linux-gnu'],
    bfd: ['elf64-littleaarch64', 'elf64-bigaarch64'],
    debian: 'binutils-aarch64-linux-gnu',
  },
  243: {
    name: 'riscv',
    nodeArch: ['riscv64'],
    triplets: ['riscv64-linux-gnu'],
    bfd: ['elf64-littleriscv', 'elf32-littleriscv'],
    debian: 'binutils-riscv64-linux-gnu',
  },
  258: {
    name: 'loongarch',
    nodeArch: ['loong64'],
    triplets: ['loongarch64-linux-gnu'],
    bfd: ['elf64-loongarch', 'elf32-loongarch'],
    debian: 'binutils-loongarch64-linux-gnu',
  },
};

/** `x86_64`, `aarch64`, … or `machine-<n>`. */
export function machineName(machine: number): string {
  return MACHINES[machine]?.name ?? `machine-${machine}`;
}

/** The Debian package that provides binutils for a machine, when there is one. */
export function binutilsPackage(machine: number): string | undefined {
  return MACHINES[machine]?.debian;
}

/** What to tell the user when no binutils for `machine` were found. */
export function binutilsFix(machine: number): string {
  const pkg = binutilsPackage(machine);
  if (machine === 183 || machine === 62) return 'sudo bash scripts/setup-engine.sh';
  return pkg
    ? `install ${pkg} or binutils-multiarch (apt-get install ${pkg})`
    : `install GNU binutils for ${machineName(machine)} (binutils-multiarch understands most machines)`;
}

/**
 * The command prefixes to try for a machine, in order: the host's unprefixed
 * tools when the host is that machine, then `<triplet>-` for each triplet,
 * then the host's own tools as a last resort (binutils-multiarch replaces
 * them with tools that understand every machine; the BFD check decides).
 * Pure: `hostArch` is Node's process.arch.
 */
export function candidatePrefixes(machine: number, hostArch: string = process.arch): string[] {
  const info = MACHINES[machine];
  if (!info) return [];
  const out: string[] = [];
  if (info.nodeArch?.includes(hostArch)) out.push('');
  for (const t of info.triplets) out.push(`${t}-`);
  if (!out.includes('')) out.push('');
  return out;
}

/** Whether an `objcopy --help` text lists one of `bfd` among its supported targets. Pure. */
export function supportsTargets(helpText: string, bfd: readonly string[]): boolean {
  const line = /supported targets:(.*)$/m.exec(helpText)?.[1] ?? '';
  const targets = new Set(line.trim().split(/\s+/));
  return bfd.some((t) => targets.has(t));
}

async function onPath(command: string, path: string | undefined): Promise<string | undefined> {
  for await (const full of executablesOnPath(command, path)) return full;
  return undefined;
}

async function lookup(machine: number): Promise<Binutils | undefined> {
  const info = MACHINES[machine];
  if (!info) return undefined;
  const path = process.env.PATH;
  for (const prefix of candidatePrefixes(machine)) {
    const [objcopy, strip, objdump] = await Promise.all(
      ['objcopy', 'strip', 'objdump'].map((tool) => onPath(`${prefix}${tool}`, path)),
    );
    if (!objcopy || !strip || !objdump) continue;
    const { version: first, help } = await askObjcopy(objcopy);
    // Only GNU binutils: llvm-objcopy and friends behave differently (llvm-strip drops .comment).
    if (!first.startsWith('GNU objcopy')) continue;
    if (!supportsTargets(help, info.bfd)) continue;
    return { objcopy, strip, objdump, version: first };
  }
  return undefined;
}

const cache = new Map<number, Promise<Binutils | undefined>>();

/**
 * GNU binutils for ELF e_machine `machine` (62 x86_64, 183 aarch64, …), or
 * undefined when none are installed. Cached per machine.
 */
export function findBinutils(machine: number): Promise<Binutils | undefined> {
  let hit = cache.get(machine);
  if (!hit) {
    hit = lookup(machine);
    cache.set(machine, hit);
  }
  return hit;
}

/** Forget cached lookups (tests, or after installing packages). */
export function clearBinutilsCache(): void {
  cache.clear();
}

/** The version number from a `--version` first line (`2.40`), or the line itself. */
export function binutilsVersionNumber(version: string): string {
  return /(\d+\.\d+(?:\.\d+)?)\s*$/.exec(version)?.[1] ?? version;
}
