import type { Command } from 'commander';
import { onForcedStop } from '../engine/cleanup.js';
import { asReported, isRebuildError, messageOf, type RebuildError } from '../util/errors.js';
import { requireValidConfig } from './config.js';
import { ExitCode, exitCodeFor, exitCodeForSignal } from './exit-codes.js';
import { jsonOnStdout } from './outputs.js';
import { stderrColors, wrapForStderr } from './terminal.js';

/** A forced stop (second Ctrl-C, or work that did not unwind) ends with the signal's code. */
onForcedStop((signal) => process.exit(exitCodeForSignal(signal)));

/** The fix for a bug in rebuild: how to report it. */
const INTERNAL_FIX = 'run again with REBUILD_DEBUG=1 for the stack trace and report it as a bug in rebuild';

/** A fix for an error that came without one. */
function fallbackFix(err: RebuildError): string {
  if (err.category === 'interrupted') return 'nothing to fix: run the same command again to do the work';
  if (/ENOENT|no such file/i.test(err.message)) return 'check the path: the file does not exist';
  if (/EACCES|EPERM|permission/i.test(err.message)) return 'check the permissions of the file';
  if (/cannot read|unreadable/i.test(err.message)) return 'check that the file exists and is readable';
  if (/not a regular file/i.test(err.message))
    return 'give the path of a regular file (a directory, device or FIFO is not read)';
  return 'see `rebuild <command> --help` for what the command needs';
}

/** What `--json` prints on stdout when the command fails: scripts parse one JSON object either way. */
export interface JsonError {
  error: { category: string; message: string; subject?: string; fix: string; exitCode: number };
}

export function jsonError(err: unknown): JsonError {
  if (isRebuildError(err)) {
    return {
      error: {
        category: err.category,
        message: err.message,
        ...(err.subject ? { subject: err.subject } : {}),
        fix: err.fix ?? fallbackFix(err),
        exitCode: exitCodeFor(err.category),
      },
    };
  }
  return {
    error: { category: 'internal', message: messageOf(err), fix: INTERNAL_FIX, exitCode: ExitCode.internal },
  };
}

/** The error lines for stderr: message, then always a `fix:` line. */
export function errorLines(err: RebuildError | Error | unknown): Promise<string> {
  const c = stderrColors();
  if (isRebuildError(err)) {
    const head = err.subject ? `${err.subject}: ${err.message}` : err.message;
    const fix = err.fix ?? fallbackFix(err);
    return wrapForStderr(`${c.red('rebuild:')} ${head}\n  ${c.bold('fix:')} ${fix}`, 4);
  }
  return wrapForStderr(
    `${c.red('rebuild: internal error:')} ${messageOf(err)}\n  ${c.bold('fix:')} ${INTERNAL_FIX}`,
    4,
  );
}

function commandOf(args: unknown[]): Command | undefined {
  const last = args[args.length - 1];
  return last && typeof last === 'object' && 'opts' in last ? (last as Command) : undefined;
}

/**
 * Wraps a command's action: the action returns its exit code; a RebuildError
 * becomes its message and fix on stderr (and, with `--json` on stdout, a JSON
 * object there too) with the category's exit code; anything else is a bug,
 * reported in two lines (stack only with REBUILD_DEBUG).
 */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<number> | number,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      requireValidConfig();
      process.exitCode = await fn(...args);
    } catch (thrown) {
      const err = asReported(thrown);
      process.stderr.write(`${await errorLines(err)}\n`);
      if (!isRebuildError(err) && process.env.REBUILD_DEBUG && err instanceof Error) {
        process.stderr.write(`${err.stack}\n`);
      }
      const opts = commandOf(args)?.opts() as { json?: string | boolean } | undefined;
      if (opts && jsonOnStdout(opts)) process.stdout.write(`${JSON.stringify(jsonError(err), null, 2)}\n`);
      process.exitCode = isRebuildError(err) ? exitCodeFor(err.category) : ExitCode.internal;
    }
  };
}
