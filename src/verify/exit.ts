import { ExitCode, exitCodeFor } from '../cli/exit-codes.js';
import type { VerifyResult } from './types.js';

/**
 * Exit code of a verification (documented in `rebuild --help` and the README):
 * 0 reproducible, 1 equivalent, 2 different, 4 build failed, 6 upstream
 * integrity, and for an error verdict the code of its category (3 input,
 * 5 environment, 7 network).
 */
export function verifyExitCode(r: Pick<VerifyResult, 'verdict' | 'error'>): number {
  switch (r.verdict) {
    case 'reproducible':
      return ExitCode.ok;
    case 'equivalent':
      return ExitCode.equivalent;
    case 'different':
      return ExitCode.different;
    case 'build-failed':
      return ExitCode.buildFailed;
    case 'upstream-integrity':
      return ExitCode.upstreamIntegrity;
    case 'error':
      return r.error?.category ? exitCodeFor(r.error.category) : ExitCode.environment;
  }
}
