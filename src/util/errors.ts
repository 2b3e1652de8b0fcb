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
