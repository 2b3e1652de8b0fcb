/**
 * Finds GNU binutils (objcopy, strip, objdump) that understand a given ELF
 * e_machine. The host's own binutils only handle the host architecture (and
 * refuse e.g. aarch64 files on an x86_64 host), so foreign targets need the
 * Debian cross packages (`binutils-aarch64-linux-gnu`, installed by
 * scripts/setup-engine.sh). Never fall back to `strip -F elf64-little`: it
 * rewrites the file with e_machine zeroed.
 *
 * Lookups scan PATH and run `<objcopy> --version` once per machine; results
 * are cached for the life of the process.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

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
  /** Node's process.arch value when this machine is the host's. */
  nodeArch?: string;
  triplets: string[];
}

export const MACHINES: Readonly<Record<number, MachineInfo>> = {
  3: { name: 'i386', nodeArch: 'ia32', triplets: ['i686-linux-gnu', 'i586-linux-gnu'] },
  8: {
    name: 'mips',
    nodeArch: 'mips',
    triplets: ['mips-linux-gnu', 'mipsel-linux-gnu', 'mips64el-linux-gnuabi64'],
  },
  20: { name: 'ppc', triplets: ['powerpc-linux-gnu'] },
  21: { name: 'ppc64', nodeArch: 'ppc64', triplets: ['powerpc64le-linux-gnu', 'powerpc64-linux-gnu'] },
  22: { name: 's390', nodeArch: 's390x', triplets: ['s390x-linux-gnu'] },
  40: { name: 'arm', nodeArch: 'arm', triplets: ['arm-linux-gnueabihf', 'arm-linux-gnueabi'] },
  62: { name: 'x86_64', nodeArch: 'x64', triplets: ['x86_64-linux-gnu'] },
  183: { name: 'aarch64', nodeArch: 'arm64', triplets: ['aarch64-linux-gnu'] },
  243: { name: 'riscv', nodeArch: 'riscv64', triplets: ['riscv64-linux-gnu'] },
  258: { name: 'loongarch', nodeArch: 'loong64', triplets: ['loongarch64-linux-gnu'] },
};

/** `x86_64`, `aarch64`, … or `machine-<n>`. */
export function machineName(machine: number): string {
  return MACHINES[machine]?.name ?? `machine-${machine}`;
}

/** The Debian package that provides binutils for a machine, when there is one. */
export function binutilsPackage(machine: number): string | undefined {
  const triplet = MACHINES[machine]?.triplets[0];
  return triplet ? `binutils-${triplet.replaceAll('_', '-')}` : undefined;
}

/** What to tell the user when no binutils for `machine` were found. */
export function binutilsFix(machine: number): string {
  const pkg = binutilsPackage(machine);
  if (machine === 183 || machine === 62) return 'sudo bash scripts/setup-engine.sh';
  return pkg ? `install ${pkg} (apt-get install ${pkg})` : `install GNU binutils for ${machineName(machine)}`;
}

/**
 * The command prefixes to try for a machine, in order: the host's unprefixed
 * tools when the host is that machine, then `<triplet>-` for each triplet.
 * Pure: `hostArch` is Node's process.arch.
 */
export function candidatePrefixes(machine: number, hostArch: string = process.arch): string[] {
  const info = MACHINES[machine];
  if (!info) return [];
  const out: string[] = [];
  if (info.nodeArch === hostArch) out.push('');
  for (const t of info.triplets) out.push(`${t}-`);
  return out;
}

async function onPath(command: string, path: string | undefined): Promise<string | undefined> {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue;
    const full = join(dir, command);
    try {
      await access(full, constants.X_OK);
      return full;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function lookup(machine: number): Promise<Binutils | undefined> {
  const path = process.env.PATH;
  for (const prefix of candidatePrefixes(machine)) {
    const [objcopy, strip, objdump] = await Promise.all(
      ['objcopy', 'strip', 'objdump'].map((tool) => onPath(`${prefix}${tool}`, path)),
    );
    if (!objcopy || !strip || !objdump) continue;
    try {
      const r = await (await import('execa')).execa(objcopy, ['--version'], {
        timeout: 10_000,
        reject: false,
      });
      const first = r.stdout.split('\n')[0]?.trim() ?? '';
      // Only GNU binutils: llvm-objcopy and friends behave differently (llvm-strip drops .comment).
      if (r.exitCode !== 0 || !first.startsWith('GNU objcopy')) continue;
      return { objcopy, strip, objdump, version: first };
    } catch {
      // unusable; try the next prefix
    }
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
