/** Small builders for audit tests: records, units, stored results, verify results. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordKey } from '../../src/audit/policy.js';
import type { NewResult } from '../../src/audit/store.js';
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
