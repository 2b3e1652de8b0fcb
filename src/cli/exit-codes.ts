import type { ErrorCategory } from '../util/errors.js';

/**
 * Exit codes, the same for every command (documented in the README).
 * 0–2 are outcomes, 3 and above are failures to reach an outcome.
 */
export const ExitCode = {
  /** identical bytes / reproducible / all recipes valid */
  ok: 0,
  /** differs only in ways fully explained as benign */
  equivalent: 1,
  /** differs in code, data, headers or unexplained bytes / checksum mismatch */
  different: 2,
  /** bad input: malformed recipe or ELF, unreadable file, bad arguments */
  input: 3,
  /** the recipe ran and failed, or hit its time limit */
  buildFailed: 4,
  /** the engine, the binfmt handler or an image is missing */
  environment: 5,
  /** published artifacts do not match their own published checksums */
  upstreamIntegrity: 6,
  /** a download failed after retries */
  network: 7,
  /** the audit database cannot be used */
  state: 8,
  /** `rebuild attest verify`: the signature does not verify with the key (an edited statement, another key) */
  attestationInvalid: 9,
  /** `rebuild attest verify`: validly signed, but about another file, or the bundle's result.json was edited */
  attestationMismatch: 12,
  /** `rebuild audit`: something got worse (a regression, a new `different`, an upstream integrity failure) */
  auditRegressed: 10,
  /** `rebuild audit`: nothing regressed, but a package newly fails to build or could not be verified */
  auditNewFailures: 11,
  /** interrupted (Ctrl-C, SIGTERM): work cleaned up */
  interrupted: 130,
  /** a bug in rebuild */
  internal: 70,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeFor(category: ErrorCategory): ExitCodeValue {
  switch (category) {
    case 'usage':
    case 'input':
      return ExitCode.input;
    case 'build':
      return ExitCode.buildFailed;
    case 'environment':
      return ExitCode.environment;
    case 'upstream':
      return ExitCode.upstreamIntegrity;
    case 'network':
      return ExitCode.network;
    case 'state':
      return ExitCode.state;
    case 'interrupted':
      return ExitCode.interrupted;
  }
}
