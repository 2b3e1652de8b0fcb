/**
 * The audit's decisions, as pure functions: is a unit already done, how did
 * its verdict change, should an attempt be retried, when is the deadline.
 */
import { createHash } from 'node:crypto';
import type { VerifyInputs, VerifyVerdict } from '../verify/types.js';
import { type ChangeKind, GOOD, type StoredResult, type UnitRecord } from './types.js';

/** The published artifact's identity: a new version or republished bytes change it. */
export function recordKey(r: Pick<UnitRecord, 'version' | 'shasum' | 'bsum' | 'ghcrPkg'>): string {
  return createHash('sha256')
    .update(JSON.stringify([r.version, r.shasum.toLowerCase(), r.bsum.toLowerCase(), r.ghcrPkg]))
    .digest('hex');
}

/** Everything else the rebuild depended on: recipe, manifest, builder image, emulator, pins. */
export function inputsHash(i: VerifyInputs): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        recipe: i.recipe.digest,
        manifest: i.manifestDigest,
        image: i.pins.image.id,
        emulator: i.emulator ?? null,
        pkgver: i.pins.pkgver,
        sourceCommit: i.pins.sourceCommit ?? null,
        network: i.network,
      }),
    )
    .digest('hex');
}

/** What the local machine would use now, as far as can be known without fetching. */
export interface Environment {
  /** The image id a tag points at now (undefined: the tag is gone). */
  imageId(tag: string): string | undefined;
}

export type SkipDecision = { skip: true; reason: string } | { skip: false; reason: string };

export interface SkipPolicy {
  /** Verify even what is already verified. */
  recheck?: boolean;
  /** Try again packages whose last verdict (same inputs) was a build failure. */
  retryFailed?: boolean;
}

/**
 * Whether a unit is already verified: the last verdict was for the same
 * published file (version, shasum, bsum, reference) and the builder image it
 * used is still the local one. Build failures count as settled too (a
 * deterministic recipe fails again) unless `retryFailed`; errors (could not
 * attempt) never do.
 */
export function decideSkip(
  record: UnitRecord,
  prev: StoredResult | undefined,
  env: Environment,
  policy: SkipPolicy = {},
): SkipDecision {
  if (policy.recheck) return { skip: false, reason: '--recheck' };
  if (!prev) return { skip: false, reason: 'never verified' };
  if (prev.recordKey !== recordKey(record)) {
    return {
      skip: false,
      reason:
        prev.version !== record.version
          ? `new version ${record.version} (was ${prev.version})`
          : `version ${record.version} republished with other bytes`,
    };
  }
  if (prev.verdict === 'build-failed' && policy.retryFailed) return { skip: false, reason: '--retry-failed' };
  if (prev.verdict === 'error') return { skip: false, reason: 'last attempt could not run' };
  if (prev.imageTag && prev.imageId) {
    const now = env.imageId(prev.imageTag);
    if (now === undefined) return { skip: false, reason: `builder image ${prev.imageTag} is no longer here` };
    if (now !== prev.imageId) return { skip: false, reason: `builder image ${prev.imageTag} changed` };
  }
  return { skip: true, reason: `unchanged since audit #${prev.auditId}: ${prev.verdict}` };
}

const isGood = (v: VerifyVerdict | undefined) => v !== undefined && GOOD.includes(v);
const isFailure = (v: VerifyVerdict) => v === 'build-failed' || v === 'error';

/** How `now` compares with the last informative verdict for the same package and arch. */
export function classifyChange(
  prev: Pick<StoredResult, 'verdict' | 'version'> | undefined,
  now: { verdict: VerifyVerdict; version: string },
): ChangeKind {
  if (now.verdict === 'upstream-integrity') return 'upstream-integrity';
  const newVersion = prev !== undefined && prev.version !== now.version;
  if (!prev) {
    if (now.verdict === 'different') return 'new-different';
    if (isFailure(now.verdict)) return 'now-fails';
    return 'first';
  }
  if (now.verdict === 'different') {
    if (isGood(prev.verdict)) return 'regression';
    if (prev.verdict !== 'different') return 'new-different';
    return newVersion ? 'new-version' : 'unchanged';
  }
  if (isFailure(now.verdict)) {
    if (prev.verdict === 'build-failed') return newVersion ? 'new-version' : 'unchanged';
    return 'now-fails';
  }
  // now good
  if (!isGood(prev.verdict)) return 'fixed';
  if (newVersion) return 'new-version';
  return 'unchanged';
}

/** The order changes are listed in (most important first). */
export const CHANGE_ORDER: readonly ChangeKind[] = [
  'regression',
  'upstream-integrity',
  'new-different',
  'now-fails',
  'fixed',
  'new-version',
  'first',
  'unchanged',
];

export interface RetryPolicy {
  /** Further attempts after a build failure or an error (default 1). */
  retries: number;
  /** Further attempts to confirm a `different` that would be reported as a regression or new (default 1). */
  mismatchRetries: number;
  /** Wait before the first retry, doubled for each further one (ms, default 30 s). */
  backoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 1, mismatchRetries: 1, backoffMs: 30_000 };

/**
 * After attempt number `attempt` (1-based) ended with `verdict`: wait this
 * long and try again, or stop (undefined). Build failures and errors are
 * retried (`retries`); a mismatch only when it would be bad news (a
 * regression or a new `different`) and then to confirm it (`mismatchRetries`);
 * reproducible, equivalent and upstream integrity failures never.
 */
export function retryDelay(
  verdict: VerifyVerdict,
  attempt: number,
  policy: RetryPolicy,
  wouldBe: ChangeKind,
): number | undefined {
  let allowed = 0;
  if (verdict === 'build-failed' || verdict === 'error') allowed = policy.retries;
  else if (verdict === 'different' && (wouldBe === 'regression' || wouldBe === 'new-different'))
    allowed = policy.mismatchRetries;
  if (attempt > allowed) return undefined;
  return verdict === 'different' ? 0 : policy.backoffMs * 2 ** (attempt - 1);
}

/**
 * `--deadline`: a time of day (`06:30`, the next one to come), a duration
 * from now (`90m`, `5h`, `1h30m`, `45s`) or an ISO date-time.
 */
export function parseDeadline(value: string, now: Date = new Date()): Date | undefined {
  const v = value.trim();
  const tod = /^(\d{1,2}):(\d{2})$/.exec(v);
  if (tod) {
    const h = Number(tod[1]);
    const m = Number(tod[2]);
    if (h > 23 || m > 59) return undefined;
    const d = new Date(now);
    d.setHours(h, m, 0, 0);
    if (d.getTime() <= now.getTime()) d.setDate(d.getDate() + 1);
    return d;
  }
  const dur = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(v);
  if (dur && v !== '' && (dur[1] || dur[2] || dur[3])) {
    const ms = (Number(dur[1] ?? 0) * 3600 + Number(dur[2] ?? 0) * 60 + Number(dur[3] ?? 0)) * 1000;
    return new Date(now.getTime() + ms);
  }
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(v)) {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : new Date(t);
  }
  return undefined;
}
