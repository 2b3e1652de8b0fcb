/**
 * `rebuild audit`: many packages, both arches, every night, remembering what
 * it found before. Types shared by the store, the scheduler and the reports.
 */
import type { BuildReporter } from '../build/build.js';
import type { Arch } from '../engine/types.js';
import type { PackageRecord } from '../upstream/types.js';
import type { VerifyOptions, VerifyResult, VerifyVerdict } from '../verify/types.js';

/** The fields of a record an audit keys on. */
export type UnitRecord = Pick<
  PackageRecord,
  'repo' | 'pkg' | 'pkgId' | 'arch' | 'version' | 'shasum' | 'bsum' | 'buildDate' | 'ghcrPkg'
>;

/** One (package, arch): the unit of work, scheduling, claims and history. */
export interface Unit {
  /** `repo/pkg_id/pkg@arch`: stable across versions. */
  key: string;
  /** What `verifyPackage` is asked for (precise enough to match this record only). */
  query: string;
  record: PackageRecord;
}

export function unitKey(r: Pick<UnitRecord, 'repo' | 'pkgId' | 'pkg' | 'arch'>): string {
  return `${r.repo}/${r.pkgId}/${r.pkg}@${r.arch}`;
}

/** Verdicts that settle a package version: the same inputs give the same answer. */
export const SETTLED: readonly VerifyVerdict[] = [
  'reproducible',
  'equivalent',
  'different',
  'upstream-integrity',
];
export const GOOD: readonly VerifyVerdict[] = ['reproducible', 'equivalent'];

/** How a verdict changed since the last one for the same package and arch. */
export type ChangeKind =
  /** reproducible/equivalent before, `different` now */
  | 'regression'
  /** the published file fails its own published checksums (always listed) */
  | 'upstream-integrity'
  /** first verdict for this package (or a new version) and it is `different` */
  | 'new-different'
  /** built before, fails to build now */
  | 'now-fails'
  /** did not reproduce (or build) before, does now */
  | 'fixed'
  /** a new upstream version, verdict not worse */
  | 'new-version'
  /** never audited before */
  | 'first'
  /** same verdict as last time */
  | 'unchanged';

/** Changes that make the audit exit with `auditRegressed`. */
export const WORSE: readonly ChangeKind[] = ['regression', 'new-different', 'upstream-integrity'];

/** Why a selected unit did or did not get verified in this audit. */
export type ItemStatus =
  /** verified in this audit (see its result) */
  | 'verified'
  /** already verified with the same published file and inputs */
  | 'skipped'
  /** another audit holds it (running now) */
  | 'elsewhere'
  /** the deadline came (or the audit was interrupted) before it started */
  | 'not-reached'
  /** the list named something the index does not have, or several things */
  | 'unresolved'
  /** distributed: queued, but no live worker has what it needs (it stays queued) */
  | 'waiting';

/** One row of `results`: a verdict for one unit at one version, as stored. */
export interface StoredResult {
  id: number;
  auditId: number;
  unit: string;
  repo: string;
  pkg: string;
  pkgId: string;
  arch: Arch;
  version: string;
  shasum: string;
  bsum: string;
  buildDate: string;
  ghcrPkg: string;
  /** SHA-256 of version, shasum, bsum, ghcr_pkg: the published artifact's identity. */
  recordKey: string;
  /** SHA-256 of the recipe digest, manifest digest, image id, emulator and pins. */
  inputsHash: string | null;
  imageTag: string | null;
  imageId: string | null;
  emulator: string | null;
  recipeDigest: string | null;
  verdict: VerifyVerdict;
  summary: string;
  publishedSha256: string | null;
  publishedBlake3: string | null;
  rebuiltSha256: string | null;
  rebuiltBlake3: string | null;
  explanations: unknown[];
  differences: unknown[];
  error: { message: string; fix?: string } | null;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  attempts: number;
  /** The verdict of every attempt, in order (retries). */
  attemptVerdicts: VerifyVerdict[];
  outDir: string | null;
  reportJson: string | null;
  reportMarkdown: string | null;
  reportHtml: string | null;
  logPath: string | null;
  change: ChangeKind;
  prevId: number | null;
  prevVerdict: VerifyVerdict | null;
  prevVersion: string | null;
  /** Distributed audits: the worker that verified it, how it ran the arch, and its queue job. */
  worker: string | null;
  workerMode: 'native' | 'emulated' | null;
  jobId: string | null;
}

/** One selected unit's outcome in one audit (verified or not). */
export interface AuditItem {
  unit: string;
  repo: string;
  pkg: string;
  pkgId: string;
  arch: Arch;
  version: string;
  status: ItemStatus;
  /** Why (skipped: the result it reuses; elsewhere: who holds it; unresolved: the problem). */
  detail: string;
  /** The result verified now, or (skipped) the result it reuses. */
  result?: StoredResult;
  /** Time waiting in the queue plus verifying, ms. */
  wallMs?: number;
}

export interface AuditRunRow {
  id: number;
  startedAt: string;
  finishedAt: string | null;
  status: 'running' | 'finished' | 'interrupted' | 'killed' | 'failed';
  pid: number;
  host: string;
  options: Record<string, unknown>;
  selected: number | null;
  exitCode: number | null;
  reportDir: string | null;
  error: string | null;
}

/**
 * Verifies one record as `rebuild <pkg>` does (`verifyRecord` of
 * src/verify/verify.ts), injectable: unit tests of the scheduler use a fake.
 */
export type Verifier = (
  record: PackageRecord,
  opts: VerifyOptions,
  reporter: BuildReporter,
) => Promise<VerifyResult>;
