import { dirname } from 'node:path';

/**
 * Errors a user can act on. Every failure that reaches the CLI is one of
 * these: it names what went wrong, where (file, field, package), and how to
 * fix it. The CLI maps `category` to an exit code in one place
 * (src/cli/exit-codes.ts) and never prints a stack trace for them.
 */
export type ErrorCategory =
  | 'usage' // bad arguments or options
  | 'input' // malformed recipe, corrupt ELF, unreadable file
  | 'environment' // engine missing, binfmt handler missing, image missing
  | 'build' // the recipe ran and failed, or timed out
  | 'upstream' // published artifacts fail their own checksums
  | 'network' // a download failed after retries
  | 'state' // audit database unusable
  | 'interrupted'; // Ctrl-C / SIGTERM

export interface ErrorDetails {
  /** The file, package or image the error is about. */
  subject?: string;
  /** What to do about it. */
  fix?: string;
  cause?: unknown;
}

export class RebuildError extends Error {
  readonly category: ErrorCategory;
  readonly subject: string | undefined;
  readonly fix: string | undefined;

  constructor(category: ErrorCategory, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'RebuildError';
    this.category = category;
    this.subject = details.subject;
    this.fix = details.fix;
  }

  /** One or two lines for stderr: `<subject>: <message>` then `fix: …`. */
  describe(): string {
    const head = this.subject ? `${this.subject}: ${this.message}` : this.message;
    return this.fix ? `${head}\n  fix: ${this.fix}` : head;
  }
}

export function isRebuildError(err: unknown): err is RebuildError {
  return err instanceof RebuildError;
}

/** The message of anything thrown, without a stack. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Errno codes of a file system with no room left: the machine's state, not the user's input. */
const NO_SPACE: Record<string, string> = {
  ENOSPC: 'the file system is full',
  EDQUOT: 'the disk quota is used up',
};

/** Whether `err` is a write that failed for want of space (ENOSPC, EDQUOT). */
export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && code in NO_SPACE;
}

/**
 * A full file system (ENOSPC, EDQUOT) is an environment failure (exit 5,
 * not bad input): the fix names the directory that needs the space.
 * `subject` is what could not be written (a report, an output directory).
 */
export function noSpaceError(dir: string, err: unknown, subject = dir): RebuildError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'ENOSPC';
  return new RebuildError('environment', `cannot write: ${NO_SPACE[code] ?? 'no space left'} (${code})`, {
    subject,
    fix: `free space on the file system that holds ${dir} (\`df -h ${dir}\` shows what is left), or write to a directory on another one; nothing was left half-written`,
    cause: err,
  });
}

/**
 * An error as the CLI reports it: a RebuildError as it is, a system error
 * of a full disk that escaped the code that knew the path made an
 * environment error naming its directory, anything else unchanged (a bug).
 */
export function asReported(err: unknown): unknown {
  if (err instanceof RebuildError || !isNoSpace(err)) return err;
  const path = (err as NodeJS.ErrnoException).path;
  return noSpaceError(path ? dirname(path) : process.cwd(), err, path);
}
