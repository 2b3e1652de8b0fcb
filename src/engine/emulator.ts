import { readFile, realpath } from 'node:fs/promises';
import { RebuildError } from '../util/errors.js';
import { type Arch, hostArch } from './types.js';

/** How a foreign-arch container runs: recorded as a build input. */
export interface EmulatorInfo {
  kind: 'native' | 'qemu-user';
  /** binfmt_misc handler name, e.g. `qemu-aarch64`. */
  handler?: string;
  interpreter?: string;
  /** binfmt flags, e.g. `POCF` (F: the interpreter is opened at registration, so containers need not contain it). */
  flags?: string;
  version?: string;
}

const HANDLERS: Record<Arch, string> = { x86_64: 'qemu-x86_64', aarch64: 'qemu-aarch64' };

/** Parses /proc/sys/fs/binfmt_misc/<handler>. Pure. */
export function parseBinfmtEntry(text: string): { enabled: boolean; interpreter?: string; flags?: string } {
  const lines = text.split('\n');
  const field = (name: string) =>
    lines
      .find((l) => l.startsWith(`${name} `))
      ?.slice(name.length + 1)
      .trim();
  return {
    enabled: lines[0]?.trim() === 'enabled',
    interpreter: field('interpreter'),
    flags: field('flags:') ?? field('flags'),
  };
}

/**
 * Finds how containers of `arch` will run here. Native needs nothing; a
 * foreign arch needs an enabled binfmt_misc handler with the F flag (the
 * interpreter is not inside the image).
 */
export async function detectEmulator(arch: Arch): Promise<EmulatorInfo> {
  if (arch === hostArch()) return { kind: 'native' };
  const handler = HANDLERS[arch];
  const path = `/proc/sys/fs/binfmt_misc/${handler}`;
  const text = await readFile(path, 'utf8').catch(() => undefined);
  const fix = 'run `sudo bash scripts/setup-engine.sh` (installs qemu-user-static and registers the handler)';
  if (text === undefined) {
    throw new RebuildError('environment', `no binfmt_misc handler for ${arch} (${path} is missing)`, {
      subject: handler,
      fix,
    });
  }
  const entry = parseBinfmtEntry(text);
  if (!entry.enabled)
    throw new RebuildError('environment', `the ${handler} binfmt handler is disabled`, {
      subject: handler,
      fix,
    });
  if (!entry.flags?.includes('F')) {
    throw new RebuildError(
      'environment',
      `the ${handler} binfmt handler lacks the F (fix-binary) flag; containers cannot reach the interpreter`,
      {
        subject: handler,
        fix,
      },
    );
  }
  let version: string | undefined;
  if (entry.interpreter) {
    // Debian's handler is a `*-binfmt-P` link that refuses direct calls: ask the binary it points to.
    const binary = await realpath(entry.interpreter).catch(() => entry.interpreter!);
    // Loaded here: native builds never need execa (a hundred modules at start-up).
    const { execa } = await import('execa');
    const r = await execa(binary, ['--version'], { reject: false, timeout: 10_000 });
    version = r.stdout.split('\n')[0]?.trim() || undefined;
  }
  return { kind: 'qemu-user', handler, interpreter: entry.interpreter, flags: entry.flags, version };
}
