import { dirname, resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import type { ReportOptions } from '../report/options.js';
import type { TextOptions } from '../report/text.js';
import { writeFileAtomic } from '../util/atomic.js';
import { isNoSpace, noSpaceError, RebuildError } from '../util/errors.js';
import { terminal } from './terminal.js';

/**
 * diffoscope's output options for compare, build and verify: `--text FILE`,
 * `--json FILE`, `--markdown FILE`, `--html FILE`, `-` (or no FILE for text
 * and JSON) meaning stdout, several at once. Text goes to stdout unless
 * another format takes stdout or `--text FILE` sends it elsewhere.
 */
export interface OutputFlags {
  text?: string | true;
  json?: string | true;
  markdown?: string;
  html?: string;
  maxReportSize?: number;
  maxDiffLines?: number;
  /** `--exclude GLOB` (repeatable): left out of the reports, never out of the verdict. */
  exclude?: string[];
}

export type OutputFormat = 'text' | 'json' | 'markdown' | 'html';

/**
 * How each format is drawn; `text` gets the width and colour of where it goes.
 * A renderer may load its format's code first (only the formats asked for are drawn).
 */
export interface Renderers {
  text(opts: TextOptions): string | Promise<string>;
  json(): string | Promise<string>;
  markdown(): string | Promise<string>;
  html(): string | Promise<string>;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new InvalidArgumentError('must be a whole number such as 200 (0 = no limit)');
  }
  return n;
}

export function addOutputOptions(cmd: Command, what = 'the report'): Command {
  cmd
    .option('--text [file]', `write ${what} as text to FILE (- or no FILE: stdout)`)
    .option('--json [file]', `write ${what} as JSON to FILE (- or no FILE: stdout)`)
    .option('--markdown <file>', `write ${what} as Markdown to FILE (- for stdout)`)
    .option('--html <file>', `write ${what} as one self-contained HTML page to FILE (- for stdout)`)
    .option(
      '--max-report-size <bytes>',
      'cut each text, Markdown and HTML report at about this size, saying what was cut (0 = no limit)',
      nonNegativeInt,
    )
    .option(
      '--max-diff-lines <n>',
      'show at most N lines of each hex, disassembly or text diff, saying what was cut (0 = no limit)',
      nonNegativeInt,
    );
  return addExcludeOption(cmd);
}

/** `--exclude GLOB`, repeatable: for compare, build, verify and replay alike. */
export function addExcludeOption(cmd: Command): Command {
  return cmd.option(
    '--exclude <glob>',
    'leave regions (sections, headers) and archive members whose name or path matches GLOB out of the reports (repeatable; the verdict still counts them, and the reports say which were left out)',
    (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
  );
}

/** What the output options ask of every report, the forensic ones a build writes included. */
export function reportOptionsOf(flags: OutputFlags): ReportOptions {
  return {
    ...(flags.maxDiffLines !== undefined ? { maxDiffLines: flags.maxDiffLines } : {}),
    ...(flags.maxReportSize !== undefined ? { maxReportSize: flags.maxReportSize } : {}),
    ...(flags.exclude?.length ? { exclude: flags.exclude } : {}),
  };
}

interface Target {
  format: OutputFormat;
  /** `-` is stdout. */
  dest: string;
}

/** Names of stdout itself: `--json /dev/stdout` is `--json -` (else the text report would follow the JSON there). */
const STDOUT_NAMES = new Set(['-', '/dev/stdout', '/dev/fd/1', '/proc/self/fd/1']);

/** Where each requested format goes; throws a usage error when two want stdout. */
export function outputTargets(flags: OutputFlags): Target[] {
  const targets: Target[] = [];
  const add = (format: OutputFormat, v: string | true | undefined) => {
    if (v !== undefined) targets.push({ format, dest: v === true || STDOUT_NAMES.has(v) ? '-' : v });
  };
  add('json', flags.json);
  add('markdown', flags.markdown);
  add('html', flags.html);
  add('text', flags.text);
  const toStdout = targets.filter((t) => t.dest === '-');
  if (toStdout.length > 1) {
    throw new RebuildError(
      'usage',
      `only one output can go to stdout: ${toStdout.map((t) => `--${t.format}`).join(', ')}`,
      {
        fix: `give the others a file name, e.g. --${toStdout[1]?.format} report.${toStdout[1]?.format === 'markdown' ? 'md' : toStdout[1]?.format}`,
      },
    );
  }
  const files = targets.filter((t) => t.dest !== '-').map((t) => resolve(t.dest));
  const dup = files.find((f, i) => files.indexOf(f) !== i);
  if (dup)
    throw new RebuildError('usage', 'two outputs name the same file', {
      subject: dup,
      fix: 'give each format its own file',
    });
  if (toStdout.length === 0 && flags.text === undefined) targets.push({ format: 'text', dest: '-' });
  return targets;
}

/** Whether JSON goes to stdout (then errors are printed there as JSON too). */
export function jsonOnStdout(flags: { json?: string | boolean }): boolean {
  return flags.json === true || (typeof flags.json === 'string' && STDOUT_NAMES.has(flags.json));
}

/**
 * Renders and writes every requested output (files atomically, never half
 * written). `protect` lists input files no report may overwrite.
 */
export async function writeOutputs(flags: OutputFlags, r: Renderers, protect: string[] = []): Promise<void> {
  const targets = outputTargets(flags);
  const guarded = new Set(protect.map((p) => resolve(p)));
  for (const t of targets) {
    if (t.dest !== '-' && guarded.has(resolve(t.dest))) {
      throw new RebuildError('usage', `--${t.format} would overwrite an input file`, {
        subject: t.dest,
        fix: 'write the report to another path',
      });
    }
  }
  // Files first: when one cannot be written (a full disk), stdout carries only the error, never a report and then an error.
  for (const t of targets.filter((x) => x.dest !== '-')) await writeReport(t.dest, await render(t, r));
  for (const t of targets.filter((x) => x.dest === '-')) process.stdout.write(await render(t, r));
}

function render(t: Target, r: Renderers): string | Promise<string> {
  switch (t.format) {
    case 'json':
      return r.json();
    case 'markdown':
      return r.markdown();
    case 'html':
      return r.html();
    case 'text': {
      const term = t.dest === '-' ? terminal(process.stdout) : { color: false, columns: 100 };
      return r.text({ color: term.color, width: term.columns });
    }
  }
}

/** The fix for a report that could not be written, by the reason the system gave (a full disk: noSpaceError). */
export function reportWriteFix(code: string | undefined): string {
  switch (code) {
    case 'EROFS':
      return 'that filesystem is mounted read-only: choose a path on a writable one';
    case 'ENOENT':
      return 'create the directory first, or choose a path whose directory exists';
    default:
      return 'choose a writable path for the report (its directory must exist)';
  }
}

async function writeReport(path: string, content: string): Promise<void> {
  try {
    await writeFileAtomic(path, content);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (isNoSpace(err)) throw noSpaceError(dirname(resolve(path)), err, path);
    throw new RebuildError('input', `cannot write report: ${code ?? String(err)}`, {
      subject: path,
      fix: reportWriteFix(code),
      cause: err,
    });
  }
}
