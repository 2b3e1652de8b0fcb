/** Small builders for audit tests: records, units, stored results, verify results. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { recordKey } from '../../src/audit/policy.js';
import { SCHEMA_VERSION } from '../../src/audit/schema.js';
import type { AuditStore, NewResult } from '../../src/audit/store.js';
import { type Unit, unitKey } from '../../src/audit/types.js';
import type { Arch } from '../../src/engine/types.js';
import type { PackageRecord } from '../../src/upstream/types.js';
import type { VerifyOptions, VerifyResult, VerifyVerdict } from '../../src/verify/types.js';
import { unattemptedResult } from '../../src/verify/verify.js';

export async function tempDir(
  prefix = 'rebuild-audit-',
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function record(pkg: string, over: Partial<PackageRecord> = {}): PackageRecord {
  const arch: Arch = over.arch ?? 'x86_64';
  const version = over.version ?? '1.0.0';
  return {
    repo: 'bincache',
    host: `${arch}-Linux`,
    arch,
    pkg,
    pkgName: pkg,
    pkgId: `example.invalid.${pkg}`,
    pkgType: 'static',
    version,
    bsum: 'b'.repeat(64),
    shasum: 'a'.repeat(64),
    buildDate: '2025-06-01T00:00:00Z',
    ghcrPkg: `ghcr.io/pkgforge/bincache/${pkg}/official/${pkg}:${version}-${arch}-linux`,
    ghcrFiles: [pkg, 'SBUILD'],
    provides: [pkg],
    raw: {},
    ...over,
  };
}

export function unit(pkg: string, over: Partial<PackageRecord> = {}): Unit {
  const r = record(pkg, over);
  return { key: unitKey(r), query: `${r.pkg}#${r.pkgId}#${r.repo}`, record: r };
}

export function newResult(u: Unit, verdict: VerifyVerdict, over: Partial<NewResult> = {}): NewResult {
  const r = u.record;
  const now = new Date().toISOString();
  return {
    unit: u.key,
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
    inputsHash: 'c'.repeat(64),
    imageTag: 'rebuild/debian-builder:x86_64',
    imageId: 'sha256:1111',
    emulator: null,
    recipeDigest: 'd'.repeat(64),
    verdict,
    summary: `${r.pkg}: ${verdict}`,
    publishedSha256: r.shasum,
    publishedBlake3: r.bsum,
    rebuiltSha256: verdict === 'reproducible' ? r.shasum : 'e'.repeat(64),
    rebuiltBlake3: null,
    explanations: [],
    differences: verdict === 'different' ? [{ region: '.text', detail: 'code differs' }] : [],
    error: null,
    startedAt: now,
    finishedAt: now,
    durationMs: 1234,
    attempts: 1,
    attemptVerdicts: [verdict],
    outDir: null,
    reportJson: null,
    reportMarkdown: null,
    reportHtml: null,
    logPath: null,
    ...over,
  };
}

/** A VerifyResult as verifyRecord returns it, for a fake verifier. */
export function verifyResult(rec: PackageRecord, opts: VerifyOptions, verdict: VerifyVerdict): VerifyResult {
  const base = unattemptedResult(rec, opts, new Date(), {
    outDir: opts.outDir ?? '/tmp/none',
    mainName: rec.pkg,
  });
  return {
    ...base,
    verdict,
    summary: `${rec.pkg} ${rec.version}: ${verdict}`,
    published: {
      ...base.published,
      sha256: rec.shasum,
      blake3: rec.bsum,
      size: 10,
      source: 'test',
      shasumOk: true,
      bsumOk: true,
    },
    ...(verdict === 'reproducible' || verdict === 'different' || verdict === 'equivalent'
      ? {
          rebuilt: {
            name: rec.pkg,
            sha256: verdict === 'reproducible' ? rec.shasum : 'f'.repeat(64),
            blake3: rec.bsum,
            size: 10,
          },
        }
      : {}),
    inputs: {
      ...base.inputs,
      manifestDigest: `sha256:${'9'.repeat(64)}`,
      recipe: { digest: '8'.repeat(64), path: '/x/SBUILD' },
      pins: {
        pkgver: rec.version,
        image: { tag: 'rebuild/debian-builder:x86_64-0123456789ab', id: 'sha256:img1', reason: 'test' },
      },
    },
    durationMs: 5,
  };
}

/**
 * The store's rows of recent verdicts (the morning report's strips) against
 * the results themselves, on the store `open` gives: 20 nights of one unit
 * (errors among them, more than kept), a unit verified now and then, a unit
 * never verified; asked up to older audits and for more nights than kept.
 * Then the database is put back as the rebuild before the table left it
 * (schema 2, no table) and opened again: the table is refilled from the
 * results. `open` returns a new store on the same database each time.
 */
export async function checkRecentVerdicts(open: () => Promise<AuditStore>): Promise<void> {
  const fromHistory = async (s: AuditStore, pkg: string, upTo: number, n: number) => {
    const h = (await s.history(pkg)).filter((r) => r.auditId <= upTo);
    return h.slice(Math.max(0, h.length - n)).map((r) => ({
      finishedAt: r.finishedAt,
      verdict: r.verdict,
      auditId: r.auditId,
    }));
  };
  const expectSame = async (s: AuditStore, upTos: number[]) => {
    const units = [unit('many').key, unit('few').key, unit('none').key];
    for (const upTo of upTos) {
      for (const n of [1, 14, 20]) {
        const got = await s.lastVerdicts(units, upTo, n);
        for (const pkg of ['many', 'few', 'none']) {
          const want = await fromHistory(s, pkg, upTo, n);
          const shown = (got.get(unit(pkg).key) ?? []).map(({ finishedAt, verdict, auditId }) => ({
            finishedAt,
            verdict,
            auditId,
          }));
          expect(shown, `${pkg} up to audit ${upTo}, last ${n}`).toEqual(want);
        }
      }
    }
  };
  const s = await open();
  const verdicts = ['reproducible', 'different', 'error', 'equivalent', 'build-failed'] as const;
  const audits: number[] = [];
  for (let night = 0; night < 20; night++) {
    const { id } = await s.beginAudit({});
    audits.push(id);
    await s.recordResult(
      id,
      newResult(unit('many'), verdicts[night % verdicts.length]!, {
        finishedAt: new Date(Date.UTC(2026, 0, 1 + night, 3, night)).toISOString(),
      }),
    );
    if (night % 7 === 0) await s.recordResult(id, newResult(unit('few'), 'reproducible'));
    await s.finishAudit(id, { status: 'finished', exitCode: 0 });
  }
  await expectSame(s, [audits[0]!, audits[6]!, audits[19]!]);
  await s.db.transaction(async (tx) => {
    await tx.exec('DROP TABLE recent_verdicts');
    await s.db.setSchemaVersion(tx, 2);
  });
  expect(await s.schemaVersion()).toBe(2);
  const upgraded = await open();
  expect(await upgraded.schemaVersion()).toBe(SCHEMA_VERSION);
  await expectSame(upgraded, [audits[3]!, audits[19]!]);
}
