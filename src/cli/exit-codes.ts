import { type ChangeKind, WORSE } from '../audit/types.js';
import type { BuildResult } from '../build/result.js';
import type { Verdict } from '../forensics/types.js';
import type { ErrorCategory } from '../util/errors.js';
import type { PinnedResult } from '../verify/pinned.js';
import type { VerifyResult } from '../verify/types.js';

/**
 * The one place that maps outcomes to exit codes, for every command
 * (printed by `rebuild --help`, documented in the README with the mapping
 * to diffoscope's and rebuilderd's verdicts). 0–2 are outcomes of a
 * comparison, 3 and above are failures to reach one; 10/11 are audit
 * outcomes.
 */
export const ExitCode = {
  /** identical bytes / reproducible / all recipes valid */
  ok: 0,
  /** differs only in ways fully explained as benign */
  equivalent: 1,
  /** differs in code, data, headers or unexplained bytes / checksum mismatch */
  different: 2,
  /** bad input: malformed recipe or ELF, unreadable file, bad arguments, nothing matched */
  input: 3,
  /** the recipe ran and failed, or hit its time limit */
  buildFailed: 4,
  /** the engine, the binfmt handler or an image is missing, or a file system is full */
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
  /**
   * TOML era, `rebuild <pkg>` of an upstream's own release: the bytes are the
   * ones pinned (and signed), but nothing was rebuilt (there is no recipe).
   * Not 0: scripts must not read it as "reproducible".
   */
  pinnedNotRebuilt: 13,
  /** `rebuild audit`: something got worse (a regression, a new `different`, an upstream integrity failure) */
  auditRegressed: 10,
  /** `rebuild audit`: nothing regressed, but a package newly fails to build or could not be verified */
  auditNewFailures: 11,
  /** a bug in rebuild */
  internal: 70,
  /** interrupted (Ctrl-C): work cleaned up */
  interrupted: 130,
  /** the reader of stdout went away (`rebuild … | head -1`): stopped quietly, as SIGPIPE would */
  outputClosed: 141,
  /** terminated (SIGTERM, SIGHUP): work cleaned up */
  terminated: 143,
} as const;

export type ExitCodeName = keyof typeof ExitCode;
export type ExitCodeValue = (typeof ExitCode)[ExitCodeName];

/** One row of the exit-code table: what it means, and what diffoscope and rebuilderd would say. */
export interface ExitCodeRow {
  code: ExitCodeValue;
  meaning: string;
  /** diffoscope's exit status for the same outcome (0 same, 1 differ, 2 error), when it has one. */
  diffoscope?: string;
  /** rebuilderd's build status (GOOD, BAD, FAIL), when it has one. */
  rebuilderd?: string;
}

/** The table, in code order; the type checker keeps it complete (one row per name). */
export const EXIT_CODES: Record<ExitCodeName, ExitCodeRow> = {
  ok: {
    code: 0,
    meaning: 'identical / reproducible / built with nothing to compare / all valid',
    diffoscope: '0',
    rebuilderd: 'GOOD',
  },
  equivalent: {
    code: 1,
    meaning: 'differs, but only in ways explained as benign (equivalent)',
    diffoscope: '1',
    rebuilderd: 'BAD',
  },
  different: {
    code: 2,
    meaning: 'different: code, data, headers or unexplained bytes differ',
    diffoscope: '1',
    rebuilderd: 'BAD',
  },
  input: {
    code: 3,
    meaning: 'bad input or arguments (malformed recipe or ELF, unreadable file, no match)',
    diffoscope: '2',
  },
  buildFailed: { code: 4, meaning: 'the recipe failed or hit its time limit', rebuilderd: 'FAIL' },
  environment: {
    code: 5,
    meaning: 'environment: no engine, no binfmt handler, no image for a builder, a full file system',
    diffoscope: '2',
    rebuilderd: 'FAIL',
  },
  upstreamIntegrity: {
    code: 6,
    meaning: 'upstream integrity: a published file fails its own published checksums',
    rebuilderd: 'BAD',
  },
  network: { code: 7, meaning: 'network: a download failed after retries', rebuilderd: 'FAIL' },
  state: { code: 8, meaning: 'the audit database cannot be used' },
  attestationInvalid: {
    code: 9,
    meaning: 'attest verify: the signature does not verify with the key (edited statement, another key)',
  },
  attestationMismatch: {
    code: 12,
    meaning: "attest verify: validly signed, but about another file, or the bundle's result.json was edited",
  },
  pinnedNotRebuilt: {
    code: 13,
    meaning:
      "TOML era: the bytes are the ones pinned (and signed), but an upstream's own binary has no recipe to rebuild",
  },
  auditRegressed: {
    code: 10,
    meaning: 'audit: something got worse (regression, new different, upstream integrity failure)',
  },
  auditNewFailures: {
    code: 11,
    meaning: 'audit: nothing regressed, but a package newly fails to build or could not be verified',
  },
  internal: { code: 70, meaning: 'a bug in rebuild', diffoscope: '2' },
  interrupted: { code: 130, meaning: 'interrupted by Ctrl-C (containers and partial output removed)' },
  outputClosed: {
    code: 141,
    meaning: 'the reader of the output went away (`| head`): stopped quietly, containers removed',
  },
  terminated: { code: 143, meaning: 'terminated by SIGTERM/SIGHUP (containers and partial output removed)' },
};

/** The table as plain text for `--help`. */
export function exitCodeHelp(): string {
  const rows = Object.values(EXIT_CODES).sort((x, y) => x.code - y.code);
  return `\nExit codes (every command):\n${rows.map((r) => `  ${String(r.code).padStart(3)}  ${r.meaning}`).join('\n')}\n`;
}

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

/** A forensic verdict (`rebuild compare`): 0 identical, 1 equivalent, 2 different. */
export function exitCodeForVerdict(verdict: Verdict): ExitCodeValue {
  switch (verdict) {
    case 'identical':
      return ExitCode.ok;
    case 'equivalent':
      return ExitCode.equivalent;
    case 'different':
      return ExitCode.different;
  }
}

/** A finished `rebuild build`. */
export function buildExitCode(result: Pick<BuildResult, 'status' | 'verdict'>): ExitCodeValue {
  switch (result.status) {
    case 'reproducible':
    case 'built':
      return ExitCode.ok;
    case 'mismatch':
      return result.verdict === 'equivalent' ? ExitCode.equivalent : ExitCode.different;
    case 'failed':
      return ExitCode.buildFailed;
  }
}

/**
 * A verification (`rebuild <pkg>`, `rebuild replay`): 0 reproducible,
 * 1 equivalent, 2 different, 4 build failed, 6 upstream integrity, and for
 * an error verdict the code of its category.
 */
export function verifyExitCode(r: Pick<VerifyResult, 'verdict' | 'error'>): ExitCodeValue {
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

/**
 * A TOML-era verification: 13 pinned (signed bytes, nothing to rebuild); the
 * other verdicts as `rebuild <pkg>`, except that an error without a category
 * is a bug here (70).
 */
export function pinnedExitCode(r: Pick<PinnedResult, 'verdict' | 'error'>): ExitCodeValue {
  if (r.verdict === 'pinned') return ExitCode.pinnedNotRebuilt;
  if (r.verdict === 'error' && !r.error?.category) return ExitCode.internal;
  return verifyExitCode({ verdict: r.verdict, error: r.error });
}

/** A search or listing: nothing matched is bad input (3), like `history` of an unknown package. */
export function exitCodeForMatches(count: number): ExitCodeValue {
  return count > 0 ? ExitCode.ok : ExitCode.input;
}

/** The process was stopped by a signal after cleaning up. */
export function exitCodeForSignal(signal: NodeJS.Signals): ExitCodeValue {
  return signal === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated;
}

/**
 * An audit that ran: 10 when something got worse (a regression, a new
 * `different`, an upstream integrity failure), else 11 when a package newly
 * fails to build or could not be verified, else 0; 130 when it was
 * interrupted (the rest is left for the next audit).
 */
export function auditExitCode(
  changes: ReadonlyArray<{ change: ChangeKind | null }>,
  interrupted = false,
): { code: ExitCodeValue; meaning: string } {
  if (interrupted)
    return { code: ExitCode.interrupted, meaning: 'interrupted: the rest is left for the next audit' };
  const worse = changes.filter((c) => c.change && WORSE.includes(c.change));
  if (worse.length > 0) {
    return {
      code: ExitCode.auditRegressed,
      meaning: `${worse.length} got worse (regression, new different verdict, or upstream integrity failure)`,
    };
  }
  const fails = changes.filter((c) => c.change === 'now-fails');
  if (fails.length > 0) {
    return {
      code: ExitCode.auditNewFailures,
      meaning: `nothing regressed; ${fails.length} newly failed to build or could not be verified`,
    };
  }
  return { code: ExitCode.ok, meaning: 'nothing got worse' };
}
