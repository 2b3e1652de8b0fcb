/**
 * pkgforge's post-processing as named passes (like OSS Rebuild's
 * stabilizers): each pass is one binutils command, in the exact order and
 * with the exact flags of pkgforge's CI:
 *
 *   objcopy --remove-section=.comment --remove-section='.note.*' FILE
 *   strip --strip-all FILE
 *
 * Both rewrite FILE in place. Used by builds (src/build/postprocess.ts) and
 * by forensics (src/forensics/postprocess.ts), so both run the same thing.
 *
 * Measured with Debian's binutils 2.40: removing `.note.*` this way empties
 * the PT_NOTE and PT_GNU_PROPERTY program headers (offset/size 0) and drops
 * PT_GNU_RELRO altogether; `strip --strip-all` alone keeps GNU_RELRO.
 */
import type { Binutils } from '../forensics/binutils.js';

export type PassName = 'remove-comment-and-notes' | 'strip-all';

export interface PassSpec {
  name: PassName;
  tool: 'objcopy' | 'strip';
  /** Arguments before the file, exactly as passed to the tool (no shell). */
  args: readonly string[];
  /** The same arguments as pkgforge's scripts wrote them in the shell. */
  shellArgs: readonly string[];
  description: string;
}

export const PKGFORGE_PASSES: readonly PassSpec[] = [
  {
    name: 'remove-comment-and-notes',
    tool: 'objcopy',
    args: ['--remove-section=.comment', '--remove-section=.note.*'],
    shellArgs: ['--remove-section=.comment', "--remove-section='.note.*'"],
    description:
      'remove .comment and every .note.* section (also empties PT_NOTE/PT_GNU_PROPERTY and drops PT_GNU_RELRO with binutils 2.40)',
  },
  {
    name: 'strip-all',
    tool: 'strip',
    args: ['--strip-all'],
    shellArgs: ['--strip-all'],
    description: 'remove all symbols, relocation information and debug sections',
  },
];

/** Quote one word for a POSIX shell, only when needed. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:,+@%-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The command line of a pass as a person would type it (`file` as given). */
export function passCommand(pass: PassSpec, tools: Binutils, file: string): string {
  return [tools[pass.tool], ...pass.shellArgs, shellQuote(file)].join(' ');
}

export interface PassRun {
  name: PassName;
  /** The command, shell-quoted (tool as found on PATH). */
  command: string;
  /** `--version` first line of the binutils used. */
  version: string;
  durationMs: number;
  /** Anything the tool printed although it succeeded (binutils warnings). */
  warnings?: string[];
}

export class PassFailure extends Error {
  constructor(
    readonly pass: PassName,
    readonly command: string,
    readonly detail: string,
  ) {
    super(`${command}: ${detail}`);
    this.name = 'PassFailure';
  }
}

/** Default per-command limit: large binaries (100 MB) take a few seconds. */
export const PASS_TIMEOUT_MS = 5 * 60_000;

/** Runs one pass on `file` in place. Throws PassFailure when the tool fails or times out. */
export async function runPass(
  pass: PassSpec,
  tools: Binutils,
  file: string,
  opts: { timeoutMs?: number; displayFile?: string } = {},
): Promise<PassRun> {
  const command = passCommand(pass, tools, opts.displayFile ?? file);
  const started = performance.now();
  const r = await (await import('execa')).execa(tools[pass.tool], [...pass.args, file], {
    timeout: opts.timeoutMs ?? PASS_TIMEOUT_MS,
    reject: false,
    stdin: 'ignore',
    all: true,
  });
  if (r.timedOut)
    throw new PassFailure(pass.name, command, `timed out after ${opts.timeoutMs ?? PASS_TIMEOUT_MS} ms`);
  if (r.failed) {
    const why = (r.all ?? '').trim().split('\n').slice(0, 5).join('; ') || (r.shortMessage ?? 'failed');
    throw new PassFailure(pass.name, command, why);
  }
  const run: PassRun = {
    name: pass.name,
    command,
    version: tools.version,
    durationMs: Math.round(performance.now() - started),
  };
  const warnings = (r.all ?? '').split('\n').filter((l) => l.trim() !== '');
  if (warnings.length > 0) run.warnings = warnings.slice(0, 20);
  return run;
}
