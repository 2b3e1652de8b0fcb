/**
 * The scheduler with a real database and a fake verifier (these are unit
 * tests of scheduling and state; test/audit/audit.engine.test.ts runs the
 * real verifier, engine and registry): skipping, rechecking, retries and
 * backoff, the deadline, `--jobs`, claims held by another audit, interrupts,
 * and verifiers that throw.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RETRY, type Environment } from '../../src/audit/policy.js';
import { type AuditConfig, type AuditDeps, runAudit } from '../../src/audit/run.js';
import { AuditStore } from '../../src/audit/store.js';
import type { Unit, Verifier } from '../../src/audit/types.js';
import type { PackageRecord } from '../../src/upstream/types.js';
import type { VerifyVerdict } from '../../src/verify/types.js';
import { tempDir, unit, verifyResult } from './fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: AuditStore;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  store = await AuditStore.open(join(dir, 'audit.db'));
});
afterEach(async () => {
  await store.close();
  await cleanup();
});

const env: Environment = {
  imageId: (tag) => (tag.startsWith('rebuild/debian-builder') ? 'sha256:img1' : undefined),
};

/** A verifier that answers from a table (per pkg, a list of verdicts per attempt) and logs its calls. */
function fakeVerifier(answers: Record<string, VerifyVerdict[] | VerifyVerdict>) {
  const calls: Array<{ pkg: string; version: string; outDir: string }> = [];
  let running = 0;
  let maxRunning = 0;
  const attempts = new Map<string, number>();
  const verify: Verifier = async (rec: PackageRecord, opts) => {
    calls.push({ pkg: rec.pkg, version: rec.version, outDir: opts.outDir ?? '' });
    running++;
    maxRunning = Math.max(maxRunning, running);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    const n = attempts.get(rec.pkg) ?? 0;
    attempts.set(rec.pkg, n + 1);
    const a = answers[rec.pkg] ?? 'reproducible';
    const verdict = Array.isArray(a) ? (a[Math.min(n, a.length - 1)] as VerifyVerdict) : a;
    return verifyResult(rec, opts, verdict);
  };
  return {
    verify,
    calls,
    get maxRunning() {
      return maxRunning;
    },
    reset() {
      calls.length = 0;
      attempts.clear();
    },
  };
}

function config(over: Partial<AuditConfig> = {}): AuditConfig {
  return {
    jobs: 1,
    retry: { ...DEFAULT_RETRY, backoffMs: 1000 },
    outDir: (id) => join(dir, `audit-${id}`),
    verify: { metadata: {}, registry: {} },
    options: {},
    ...over,
  };
}

function deps(verify: Verifier, over: Partial<AuditDeps> = {}): AuditDeps {
  return { store, verify, env, sleep: async () => undefined, ...over };
}

const units = (...names: string[]): Unit[] => names.map((n) => unit(n));

describe('runAudit', () => {
  it('first run verifies everything; the second skips everything; --recheck verifies again', async () => {
    const v = fakeVerifier({ b: 'equivalent', c: 'different' });
    const us = units('a', 'b', 'c');
    const first = await runAudit(us, [], config(), deps(v.verify));
    expect(first.items.map((i) => [i.pkg, i.status, i.result?.verdict, i.result?.change])).toEqual([
      ['a', 'verified', 'reproducible', 'first'],
      ['b', 'verified', 'equivalent', 'first'],
      ['c', 'verified', 'different', 'new-different'],
    ]);
    // a new `different` is confirmed once (mismatch retry)
    expect(v.calls.map((c) => c.pkg)).toEqual(['a', 'b', 'c', 'c']);
    expect(first.items[2]!.result).toMatchObject({
      attempts: 2,
      attemptVerdicts: ['different', 'different'],
    });
    expect(v.calls[0]!.outDir).toBe(
      join(dir, `audit-${first.auditId}`, 'packages', 'x86_64', 'bincache', 'example.invalid.a', 'a'),
    );

    v.reset();
    const second = await runAudit(us, [], config(), deps(v.verify));
    expect(v.calls).toEqual([]);
    expect(second.items.map((i) => [i.pkg, i.status, i.result?.verdict])).toEqual([
      ['a', 'skipped', 'reproducible'],
      ['b', 'skipped', 'equivalent'],
      ['c', 'skipped', 'different'],
    ]);
    expect(second.items[0]!.detail).toContain(`audit #${first.auditId}`);
    expect((await store.items(second.auditId)).map((i) => i.status)).toEqual([
      'skipped',
      'skipped',
      'skipped',
    ]);

    const third = await runAudit(us, [], config({ recheck: true }), deps(v.verify));
    expect(third.items.every((i) => i.status === 'verified')).toBe(true);
    expect(third.items.map((i) => i.result?.change)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect((await store.counts()).results).toBe(6);
  });

  it('a new version, republished bytes or a changed builder image are verified again', async () => {
    const v = fakeVerifier({});
    await runAudit(units('a', 'b', 'c'), [], config(), deps(v.verify));
    v.reset();
    const next = [unit('a', { version: '1.1.0' }), unit('b', { shasum: '2'.repeat(64) }), unit('c')];
    const changedImage: Environment = { imageId: () => 'sha256:img2' };
    const out = await runAudit(next, [], config(), deps(v.verify, { env: changedImage }));
    expect(out.items.map((i) => [i.pkg, i.status])).toEqual([
      ['a', 'verified'],
      ['b', 'verified'],
      ['c', 'verified'],
    ]);
    expect(out.items[0]!.result?.change).toBe('new-version');
    const reasons = (await store.items(out.auditId)).map((i) => i.status).join(',');
    expect(reasons).toBe('verified,verified,verified');
    v.reset();
    // same image as recorded now (img2 was never recorded: the fake verifier records img1) → a and b skip
    const again = await runAudit(next, [], config(), deps(v.verify));
    expect(again.items.map((i) => i.status)).toEqual(['skipped', 'skipped', 'skipped']);
  });

  it('regressions are confirmed before they are reported; a flaky mismatch shows both attempts', async () => {
    const v = fakeVerifier({});
    await runAudit(units('a', 'b'), [], config(), deps(v.verify));
    const w = fakeVerifier({ a: ['different', 'different'], b: ['different', 'reproducible'] });
    const out = await runAudit(units('a', 'b'), [], config({ recheck: true }), deps(w.verify));
    expect(out.items[0]!.result).toMatchObject({ verdict: 'different', change: 'regression', attempts: 2 });
    expect(out.items[1]!.result).toMatchObject({
      verdict: 'reproducible',
      change: 'unchanged',
      attemptVerdicts: ['different', 'reproducible'],
    });
    // --mismatch-retries 0: no confirmation
    const x = fakeVerifier({ a: 'different' });
    await runAudit(
      units('a'),
      [],
      config({ recheck: true, retry: { ...DEFAULT_RETRY, mismatchRetries: 0 } }),
      deps(x.verify),
    );
    expect(x.calls).toHaveLength(1);
  });

  it('build failures are retried with exponential backoff, and settled once they stop', async () => {
    const v = fakeVerifier({
      a: ['build-failed', 'build-failed', 'build-failed'],
      b: ['error', 'reproducible'],
    });
    const waits: number[] = [];
    const out = await runAudit(
      units('a', 'b'),
      [],
      config({ retry: { retries: 2, mismatchRetries: 0, backoffMs: 1000 } }),
      deps(v.verify, { sleep: async (ms) => void waits.push(ms) }),
    );
    expect(out.items[0]!.result).toMatchObject({ verdict: 'build-failed', attempts: 3, change: 'now-fails' });
    expect(out.items[1]!.result).toMatchObject({
      verdict: 'reproducible',
      attemptVerdicts: ['error', 'reproducible'],
    });
    expect(waits).toEqual([1000, 2000, 1000]);
    // next night: the build failure (same inputs) is settled, unless --retry-failed
    v.reset();
    const next = await runAudit(units('a', 'b'), [], config(), deps(v.verify));
    expect(next.items.map((i) => i.status)).toEqual(['skipped', 'skipped']);
    const forced = await runAudit(
      units('a', 'b'),
      [],
      config({ retryFailed: true, retry: { retries: 0, mismatchRetries: 0, backoffMs: 0 } }),
      deps(v.verify),
    );
    expect(forced.items.map((i) => i.status)).toEqual(['verified', 'skipped']);
  });

  it('the deadline stops new work; the next audit finishes the rest without redoing any', async () => {
    let t = Date.parse('2026-01-01T02:00:00Z');
    const now = () => new Date(t);
    const slow: Verifier = async (rec, opts) => {
      t += 10 * 60_000; // each verification takes ten minutes
      return verifyResult(rec, opts, 'reproducible');
    };
    const us = units('a', 'b', 'c', 'd', 'e');
    const out = await runAudit(
      us,
      [],
      config({ deadline: new Date(Date.parse('2026-01-01T02:25:00Z')) }),
      deps(slow, { now }),
    );
    expect(out.deadlineReached).toBe(true);
    expect(out.items.map((i) => i.status)).toEqual([
      'verified',
      'verified',
      'verified',
      'not-reached',
      'not-reached',
    ]);
    expect(out.items[3]!.detail).toMatch(/deadline/);
    const v = fakeVerifier({});
    const rest = await runAudit(us, [], config(), deps(v.verify));
    expect(v.calls.map((c) => c.pkg)).toEqual(['d', 'e']);
    expect(rest.items.map((i) => i.status)).toEqual([
      'skipped',
      'skipped',
      'skipped',
      'verified',
      'verified',
    ]);
  });

  it('--jobs runs that many at once, never more', async () => {
    const v = fakeVerifier({});
    await runAudit(units('a', 'b', 'c', 'd', 'e', 'f', 'g'), [], config({ jobs: 3 }), deps(v.verify));
    expect(v.maxRunning).toBe(3);
    expect(v.calls).toHaveLength(7);
  });

  it('a unit claimed by another live audit is left to it', async () => {
    const other = await AuditStore.open(join(dir, 'audit.db'), { pid: 424242, host: 'elsewhere.example' });
    const oid = (await other.beginAudit({})).id;
    const [a, b] = units('a', 'b');
    await other.claim(b!.key, oid);
    const v = fakeVerifier({});
    const out = await runAudit([a!, b!], [], config(), deps(v.verify));
    await other.close();
    expect(v.calls.map((c) => c.pkg)).toEqual(['a']);
    expect(out.items[1]).toMatchObject({ status: 'elsewhere' });
    expect(out.items[1]!.detail).toContain(`audit #${oid}`);
  });

  it('an interrupt stops new work, and the unit being verified is left unclaimed and unrecorded', async () => {
    const ac = new AbortController();
    const v: Verifier = async (rec, opts) => {
      if (rec.pkg === 'b') {
        ac.abort();
        const { RebuildError } = await import('../../src/util/errors.js');
        throw new RebuildError('interrupted', 'interrupted');
      }
      return verifyResult(rec, opts, 'reproducible');
    };
    const out = await runAudit(units('a', 'b', 'c'), [], config({ signal: ac.signal }), deps(v));
    expect(out.interrupted).toBe(true);
    expect(out.items.map((i) => i.status)).toEqual(['verified', 'not-reached', 'not-reached']);
    expect(await store.claims()).toEqual([]);
    expect((await store.counts()).results).toBe(1);
  });

  it('a verifier that throws gives an `error` verdict for that package; the others go on', async () => {
    const v: Verifier = async (rec, opts) => {
      if (rec.pkg === 'a') throw new Error('disk on fire');
      return verifyResult(rec, opts, 'reproducible');
    };
    const out = await runAudit(
      units('a', 'b'),
      [],
      config({ retry: { retries: 0, mismatchRetries: 0, backoffMs: 0 } }),
      deps(v),
    );
    expect(out.items[0]!.result).toMatchObject({ verdict: 'error', error: { message: 'disk on fire' } });
    expect(out.items[1]!.result?.verdict).toBe('reproducible');
  });
});
