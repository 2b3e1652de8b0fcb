import { isRebuildError, messageOf } from '../util/errors.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';

/**
 * Wraps a command's action: the action returns its exit code; a RebuildError
 * becomes its message (and fix) on stderr with the category's exit code;
 * anything else is a bug, reported in one line (stack only with REBUILD_DEBUG).
 */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<number> | number,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = await fn(...args);
    } catch (err) {
      if (isRebuildError(err)) {
        process.stderr.write(`rebuild: ${err.describe()}\n`);
        process.exitCode = exitCodeFor(err.category);
      } else {
        process.stderr.write(`rebuild: internal error: ${messageOf(err)}\n`);
        if (process.env.REBUILD_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
        process.exitCode = ExitCode.internal;
      }
    }
  };
}
