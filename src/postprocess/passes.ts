/**
 * pkgforge's byte-changing post-processing as named passes (like OSS
 * Rebuild's stabilizers). Two kinds, each a function:
 *
 *  - binutils passes run on one ELF executable: objcopy/strip with the exact
 *    flags of a CI generation. With an output path they write there (`objcopy
 *    IN OUT`, `strip … -o OUT IN`), so a simulation needs no extra copy;
 *    without one they rewrite the file in place as pkgforge did.
 *  - directory passes run on the top level of the output directory: renames,
 *    deletions and the `.desktop` rewrite.
 *
 * The table of which passes each CI generation ran is src/postprocess/profiles.ts.
 * Measured with Debian's binutils 2.40: removing `.note.*` empties the PT_NOTE
 * and PT_GNU_PROPERTY program headers and drops PT_GNU_RELRO.
 */

import { runTool } from '../util/run-tool.js';
import type { Binutils } from './binutils.js';

export type BinutilsPassName = 'remove-comment-and-notes' | 'strip-debug-dwo-unneeded' | 'strip-all';
export type DirectoryPassName = 'delete-empty' | 'desktop-exec';
export type PassName = BinutilsPassName | DirectoryPassName;

export interface BinutilsPass {
  name: BinutilsPassName;
  tool: 'objcopy' | 'strip';
  /** Arguments before the file, exactly as passed to the tool (no shell). */
  args: readonly string[];
  description: string;
}

export const BINUTILS_PASSES: Readonly<Record<BinutilsPassName, BinutilsPass>> = {
  'remove-comment-and-notes': {
    name: 'remove-comment-and-notes',
    tool: 'objcopy',
    args: ['--remove-section=.comment', '--remove-section=.note.*'],
    description:
      'remove .comment and every .note.* section (also empties PT_NOTE/PT_GNU_PROPERTY and drops PT_GNU_RELRO)',
  },
  'strip-debug-dwo-unneeded': {
    name: 'strip-debug-dwo-unneeded',
    tool: 'strip',
    args: ['--strip-debug', '--strip-dwo', '--strip-unneeded'],
    description: 'remove debug sections, DWARF .dwo sections and symbols not needed for relocations',
  },
  'strip-all': {
    name: 'strip-all',
    tool: 'strip',
    args: ['--strip-all'],
    description: 'remove all symbols, relocation information and debug sections',
  },
};

/** Quote one word for a POSIX shell, only when needed. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:,+@%-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The argv of a pass: in place (`output` undefined) or into `output`. Pure. */
export function passArgv(pass: BinutilsPass, input: string, output?: string): string[] {
  if (output === undefined) return [...pass.args, input];
  return pass.tool === 'strip' ? [...pass.args, '-o', output, input] : [...pass.args, input, output];
}

/** The command line of a pass as a person would type it. */
export function passCommand(pass: BinutilsPass, tools: Binutils, input: string, output?: string): string {
  return [tools[pass.tool], ...passArgv(pass, input, output)].map(shellQuote).join(' ');
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

/**
 * Runs one binutils pass on `file`, in place or into `opts.output`. Throws
 * PassFailure when the tool fails or times out (binutils write nothing then).
 */
export async function runPass(
  pass: BinutilsPass,
  tools: Binutils,
  file: string,
  opts: { timeoutMs?: number; displayFile?: string; output?: string; displayOutput?: string } = {},
): Promise<PassRun> {
  const command = passCommand(
    pass,
    tools,
    opts.displayFile ?? file,
    opts.output === undefined ? undefined : (opts.displayOutput ?? opts.output),
  );
  const started = performance.now();
  const timeoutMs = opts.timeoutMs ?? PASS_TIMEOUT_MS;
  const r = await runTool(tools[pass.tool], passArgv(pass, file, opts.output), { timeoutMs });
  const all = [r.stderr, r.stdout].filter((t) => t.trim() !== '').join('\n');
  if (r.timedOut) throw new PassFailure(pass.name, command, `timed out after ${timeoutMs} ms`);
  if (r.exitCode !== 0) {
    const why = all.trim().split('\n').slice(0, 5).join('; ') || (r.failure ?? 'failed');
    throw new PassFailure(pass.name, command, why);
  }
  const run: PassRun = {
    name: pass.name,
    command,
    version: tools.version,
    durationMs: Math.round(performance.now() - started),
  };
  const warnings = all.split('\n').filter((l) => l.trim() !== '');
  if (warnings.length > 0) run.warnings = warnings.slice(0, 20);
  return run;
}

/** The `.desktop` rewrite of 2025 bincache: `sed -E 's/^[[:space:]]*[Ee]xec[[:space:]]*=[[:space:]]*[^[:space:]]+/Exec={{pkg_path}}/'`. Pure, line by line like sed. */
export function rewriteDesktopExec(text: string): string {
  return text
    .split('\n')
    .map((line) =>
      line.replace(/^[ \t\v\f\r]*[Ee]xec[ \t\v\f\r]*=[ \t\v\f\r]*[^ \t\v\f\r\n]+/, 'Exec={{pkg_path}}'),
    )
    .join('\n');
}
