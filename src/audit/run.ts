/**
 * The audit scheduler: decides what is already done, claims the rest one
 * unit at a time, verifies `jobs` units at once with retries, records each
 * verdict in its own transaction, and stops starting work at the deadline or
 * on an interrupt. Side effects go through its dependencies (store, verifier,
 * clock), so the scheduling and state logic can be tested with a fake verifier.
 */
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { BuildReporter } from '../build/build.js';
import { isRebuildError, messageOf } from '../util/errors.js';
import type { VerifyOptions, VerifyResult, VerifyVerdict } from '../verify/types.js';
import { unattemptedResult } from '../verify/verify.js';
import {
  classifyChange,
  decideSkip,
  type Environment,
  inputsHash,
  type RetryPolicy,
  recordKey,
  retryDelay,
} from './policy.js';
import type { AuditStore, NewResult } from './store.js';
import type { AuditItem, AuditRunRow, StoredResult, Unit, Verifier } from './types.js';

export interface AuditConfig {
  jobs: number;
  recheck?: boolean;
  retryFailed?: boolean;
  retry: RetryPolicy;
  /** No unit starts after this time. */
  deadline?: Date;
  /** This audit's directory (given its id): units go to `<dir>/packages/<arch>/<repo>/<pkg_id>/<pkg>`. */
  outDir: (auditId: number) => string;
  /** Passed to every verification. */
  verify: Omit<VerifyOptions, 'query' | 'arch' | 'outDir' | 'signal'>;
  /** Stored with the audit (what was asked for). */
  options: Record<string, unknown>;
  signal?: AbortSignal;
  /** How often this audit refreshes its claims (default 60 s; claims expire after the store's ttl). */
  heartbeatMs?: number;
}

/** What the console shows while an audit runs. */
export interface AuditProgress {
  planned(p: { auditId: number; selected: number; toVerify: number; killed: AuditRunRow[] }): void;
  item(item: AuditItem): void;
  started(unit: Unit, attempt: number): void;
  log(unit: Unit, line: string): void;
  done(): void;
}

export const silentProgress: AuditProgress = {
  planned: () => undefined,
  item: () => undefined,
  started: () => undefined,
  log: () => undefined,
  done: () => undefined,
};

export interface AuditDeps {
  store: AuditStore;
  verify: Verifier;
  env: Environment;
  progress?: AuditProgress;
  now?: () => Date;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface AuditOutcome {
  auditId: number;
  /** This audit's directory (reports, packages/). */
  dir: string;
  /** Every selected unit (and every unresolved list entry), in selection order. */
  items: AuditItem[];
  /** Earlier audits found dead and marked killed. */
  killed: AuditRunRow[];
  interrupted: boolean;
  deadlineReached: boolean;
  startedAt: string;
  finishedAt: string;
}

export function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Directory names from package names: no separators, no dot-files. */
function safeSegment(s: string): string {
  const v = s.replace(/[^A-Za-z0-9._+-]/g, '_');
  return v.startsWith('.') ? `_${v}` : v || '_';
}

export function unitOutDir(root: string, unit: Unit): string {
  const r = unit.record;
  return join(root, 'packages', r.arch, safeSegment(r.repo), safeSegment(r.pkgId), safeSegment(r.pkg));
}

export function itemOf(
  unit: Unit,
  status: AuditItem['status'],
  detail: string,
  result?: StoredResult,
): AuditItem {
  const r = unit.record;
  return {
    unit: unit.key,
    repo: r.repo,
    pkg: r.pkg,
    pkgId: r.pkgId,
    arch: r.arch,
    version: r.version,
    status,
    detail,
    ...(result ? { result } : {}),
  };
}

/** A verification that threw instead of returning a verdict (a bug, or the output directory refused). */
function errorResult(unit: Unit, opts: VerifyOptions, err: unknown, startedAt: Date): VerifyResult {
  const r = unit.record;
  const message = messageOf(err);
  const fix = isRebuildError(err) ? err.fix : undefined;
  return {
    ...unattemptedResult(r, opts, startedAt),
    summary: `${r.pkg} ${r.version} (${r.arch}, ${r.repo}): could not be verified: ${message}`,
    reports: { json: '' },
    error: { message, ...(fix ? { fix } : {}) },
    durationMs: Date.now() - startedAt.getTime(),
  };
}

/** A verification as the store keeps it. */
export function toNewResult(
  unit: Unit,
  v: VerifyResult,
  attemptVerdicts: VerifyVerdict[],
  finishedAt: Date,
): NewResult {
  const r = unit.record;
  const i = v.inputs;
  const attempted = i.recipe.digest !== '';
  const build = v.build;
  const has = (p: string | undefined) => (p && p !== '' ? p : null);
  return {
    unit: unit.key,
    repo: r.repo,
    pkg: r.pkg,
    pkgId: r.pkgId,
    arch: r.arch,
    version: r.version,
    shasum: r.shasum,
    bsum: r.bsum,
    buildDate: r.buildDate,
    ghcrPkg: r.ghcrPkg,
    recordKey: recordKey(r),
    inputsHash: attempted ? inputsHash(i) : null,
    inputs: i,
    imageTag: has(i.pins.image.tag),
    imageId: has(i.pins.image.id),
    emulator: i.emulator ?? null,
    recipeDigest: has(i.recipe.digest),
    verdict: v.verdict,
    summary: v.summary,
    publishedSha256: has(v.published.sha256),
    publishedBlake3: has(v.published.blake3),
    rebuiltSha256: v.rebuilt?.sha256 ?? null,
    rebuiltBlake3: v.rebuilt?.blake3 ?? null,
    explanations: v.explanations,
    differences: v.differences,
    error: v.error ? { message: v.error.message, ...(v.error.fix ? { fix: v.error.fix } : {}) } : null,
    startedAt: v.startedAt,
    finishedAt: finishedAt.toISOString(),
    durationMs: v.durationMs,
    attempts: attemptVerdicts.length,
    attemptVerdicts,
    outDir: has(v.outDir),
    reportJson: has(v.reports.json),
    reportMarkdown: has(v.reports.markdown),
    reportHtml: has(v.reports.html),
    logPath: build ? join(build.outDir, build.log) : null,
  };
}

/** The verification was interrupted (Ctrl-C, SIGTERM): nothing to record. */
export class Interrupted extends Error {}

/**
 * Verifies one unit as the retry policy says: build failures and errors
 * again with backoff, a `different` that would be a regression or new
 * confirmed by further attempts, none started past the deadline. Shared by
 * the local scheduler and the distributed worker.
 */
export async function verifyWithRetries(
  unit: Unit,
  prev: StoredResult | undefined,
  outDir: string,
  config: Pick<AuditConfig, 'verify' | 'retry' | 'deadline' | 'signal'>,
  deps: Pick<AuditDeps, 'verify'> & {
    progress: AuditProgress;
    now: () => Date;
    sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  },
): Promise<{ result: VerifyResult; verdicts: VerifyVerdict[] }> {
  const { progress, now, sleep } = deps;
  const verdicts: VerifyVerdict[] = [];
  let result: VerifyResult | undefined;
  for (let attempt = 1; ; attempt++) {
    const opts: VerifyOptions = {
      ...config.verify,
      query: unit.query,
      arch: unit.record.arch,
      outDir,
      ...(config.signal ? { signal: config.signal } : {}),
    };
    progress.started(unit, attempt);
    const reporter: BuildReporter = {
      step: async (title, fn) => {
        progress.log(unit, title);
        return fn();
      },
      log: (line) => progress.log(unit, line),
    };
    const t = now();
    try {
      result = await deps.verify(unit.record, opts, reporter);
    } catch (err) {
      if (config.signal?.aborted || (isRebuildError(err) && err.category === 'interrupted')) {
        throw new Interrupted();
      }
      result = errorResult(unit, opts, err, t);
    }
    verdicts.push(result.verdict);
    if (config.signal?.aborted) break;
    const wouldBe = classifyChange(prev, { verdict: result.verdict, version: unit.record.version });
    const delay = retryDelay(result.verdict, attempt, config.retry, wouldBe);
    if (delay === undefined) break;
    if (config.deadline && now().getTime() + delay >= config.deadline.getTime()) break;
    progress.log(
      unit,
      `attempt ${attempt}: ${result.verdict}; trying again in ${Math.round(delay / 1000)} s`,
    );
    await sleep(delay, config.signal);
    if (config.signal?.aborted) break;
  }
  return { result, verdicts };
}

export async function runAudit(
  units: readonly Unit[],
  unresolved: readonly AuditItem[],
  config: AuditConfig,
  deps: AuditDeps,
): Promise<AuditOutcome> {
  const { store } = deps;
  const progress = deps.progress ?? silentProgress;
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? sleepFor;
  const startedAt = now().toISOString();
  const { id: auditId, killed } = await store.beginAudit(config.options);
  await store.setSelected(auditId, units.length);
  const auditDir = config.outDir(auditId);
  await store.setReportDir(auditId, auditDir);
  const beat = setInterval(() => {
    // a busy database: the next beat will do (claims last ttl, far longer than a beat)
    store.heartbeat(auditId).catch(() => undefined);
  }, config.heartbeatMs ?? 60_000);
  beat.unref();

  const items = new Map<string, AuditItem>();
  let deadlineReached = false;
  let interrupted = false;
  try {
    // 1. What is already done.
    const latest = await store.latestAll();
    const queue: Array<{ unit: Unit; prev: StoredResult | undefined; reason: string }> = [];
    const skipped: AuditItem[] = [];
    for (const unit of units) {
      const prev = latest.get(unit.key);
      const d = decideSkip(unit.record, prev, deps.env, config);
      if (d.skip) skipped.push(itemOf(unit, 'skipped', d.reason, prev));
      else queue.push({ unit, prev, reason: d.reason });
    }
    await store.recordItems(auditId, [...unresolved, ...skipped]);
    for (const it of [...unresolved, ...skipped]) items.set(it.unit, it);
    progress.planned({ auditId, selected: units.length, toVerify: queue.length, killed });
    for (const it of unresolved) progress.item(it);
    for (const it of skipped) progress.item(it);

    // 2. The rest, `jobs` at a time.
    const limit = pLimit(Math.max(1, config.jobs));
    const finish = (it: AuditItem) => {
      items.set(it.unit, it);
      progress.item(it);
    };
    const notStarted = (unit: Unit): AuditItem | undefined => {
      if (config.signal?.aborted) {
        interrupted = true;
        return itemOf(unit, 'not-reached', 'the audit was interrupted before it started');
      }
      if (config.deadline && now().getTime() >= config.deadline.getTime()) {
        deadlineReached = true;
        return itemOf(
          unit,
          'not-reached',
          `the deadline ${config.deadline.toISOString()} came before it started`,
        );
      }
      return undefined;
    };

    const work = async (q: { unit: Unit; prev: StoredResult | undefined; reason: string }) => {
      const { unit } = q;
      const t0 = Date.now();
      const early = notStarted(unit);
      if (early) {
        await store.recordItems(auditId, [early]);
        return finish(early);
      }
      const claim = await store.claim(unit.key, auditId);
      if (!claim.ok) {
        const h = claim.holder;
        const it = itemOf(
          unit,
          'elsewhere',
          `audit #${h.auditId} (pid ${h.pid} on ${h.host}) is verifying it`,
        );
        await store.recordItems(auditId, [it]);
        return finish(it);
      }
      try {
        // Another audit may have finished it since this one looked.
        const fresh = await store.latest(unit.key);
        if (fresh && fresh.id !== q.prev?.id) {
          const d = decideSkip(unit.record, fresh, deps.env, { retryFailed: config.retryFailed });
          if (d.skip && !config.recheck) {
            await store.release(unit.key, auditId);
            const it = itemOf(
              unit,
              'skipped',
              `verified meanwhile by audit #${fresh.auditId}: ${fresh.verdict}`,
              fresh,
            );
            await store.recordItems(auditId, [it]);
            return finish(it);
          }
        }
        const prev = fresh ?? q.prev;
        const { result, verdicts } = await verifyWithRetries(unit, prev, unitOutDir(auditDir, unit), config, {
          ...deps,
          progress,
          now,
          sleep,
        });
        const stored = (await store.recordResult(
          auditId,
          toNewResult(unit, result, verdicts, now()),
          Date.now() - t0,
        ))!;
        return finish({ ...itemOf(unit, 'verified', stored.summary, stored), wallMs: Date.now() - t0 });
      } catch (err) {
        await store.release(unit.key, auditId);
        if (err instanceof Interrupted) {
          interrupted = true;
          const it = itemOf(unit, 'not-reached', 'interrupted while it was being verified');
          await store.recordItems(auditId, [it]);
          return finish(it);
        }
        throw err;
      }
    };
    await Promise.all(queue.map((q) => limit(() => work(q))));
  } finally {
    clearInterval(beat);
    progress.done();
  }
  // Selection order: unresolved entries first, then units as selected.
  const ordered: AuditItem[] = [
    ...unresolved.map((u) => items.get(u.unit)!),
    ...units.map((u) => items.get(u.key)).filter((x): x is AuditItem => x !== undefined),
  ];
  return {
    auditId,
    dir: auditDir,
    items: ordered,
    killed,
    interrupted: interrupted || config.signal?.aborted === true,
    deadlineReached,
    startedAt,
    finishedAt: now().toISOString(),
  };
}
