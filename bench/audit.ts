/**
 * `npm run bench -- audit`:
 *
 * 1. The per-package cost of a nightly audit in which nothing changed, for
 *    10,000 packages: a real SQLite database holding 10,000 verified results,
 *    a synthetic 10,000-record index served by a loopback metadata server,
 *    and the real audit path (`runAuditRequest`: open and migrate the
 *    database, fetch and validate the index, select, reap orphans, decide
 *    every package is unchanged, record the items, write the three reports).
 *    Target: under 20 ms per package. The verifier is one that fails the
 *    bench if it is ever called (nothing may be rebuilt).
 * 2. The throughput of a real audit of the shipped examples (real verifier,
 *    engine, loopback registry), first run and an unchanged second run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAuditRequest } from '../src/audit/audit.js';
import { DEFAULT_RETRY } from '../src/audit/policy.js';
import type { Verifier } from '../src/audit/types.js';
import { connectEngine } from '../src/engine/docker.js';
import type { PackageRecord } from '../src/upstream/types.js';
import type { VerifyOptions, VerifyResult } from '../src/verify/types.js';
import { unattemptedResult } from '../src/verify/verify.js';
import { publishExample } from '../test/helpers/publish.js';
import { recordFor, startMetadataServer, startRegistry } from '../test/helpers/registry.js';

const N = Number(process.env.AUDIT_BENCH_PACKAGES ?? 10_000);
const TARGET_MS = 20;

/** N records as pkgforge publishes them (strings), each with its own name, id, artifact and hashes. */
async function syntheticIndex(n: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const name = `pkg${String(i).padStart(5, '0')}`;
    out.push(
      await recordFor({
        repo: 'bincache',
        arch: 'x86_64',
        pkg: name,
        pkgId: `example.invalid.bench.${name}`,
        version: `1.${i % 100}.0`,
        buildDate: '2025-06-01T00:00:00Z',
        mainFile: name,
        files: [
          { name, bytes: Buffer.from(`#!/bin/sh\necho ${name}\n`) },
          { name: 'SBUILD', bytes: Buffer.from('#!/SBUILD\n') },
        ],
      }),
    );
  }
  return out;
}

/** A verifier that "verifies" instantly (seeding the database) and counts its calls. */
function seedVerifier(): Verifier & { calls: number } {
  const v = (async (rec: PackageRecord, opts: VerifyOptions) => {
    v.calls++;
    const base = unattemptedResult(rec, opts, new Date(), { mainName: rec.pkg });
    const r: VerifyResult = {
      ...base,
      verdict: 'reproducible',
      summary: `${rec.pkg} ${rec.version}: reproducible (seeded by the bench)`,
      published: {
        ...base.published,
        sha256: rec.shasum,
        blake3: rec.bsum,
        size: 20,
        source: 'bench',
        shasumOk: true,
        bsumOk: true,
      },
      rebuilt: { name: rec.pkg, sha256: rec.shasum, blake3: rec.bsum, size: 20 },
      inputs: {
        ...base.inputs,
        manifestDigest: `sha256:${'0'.repeat(64)}`,
        recipe: { digest: '1'.repeat(64), path: 'SBUILD' },
        pins: { pkgver: rec.version, image: { tag: '', id: '', reason: 'bench' } },
      },
      durationMs: 1,
    };
    return r;
  }) as unknown as Verifier & { calls: number };
  v.calls = 0;
  return v;
}

const neverCalled: Verifier = async (rec) => {
  throw new Error(`the unchanged audit tried to verify ${rec.pkg}`);
};

export async function run(log: (line: string) => void): Promise<string[]> {
  const summary: string[] = [];
  const work = await mkdtemp(join(tmpdir(), 'rebuild-bench-audit-'));
  try {
    // ---- 1. nothing changed, N packages
    log(`making a synthetic index of ${N.toLocaleString('en-US')} records…`);
    const records = await syntheticIndex(N);
    const meta = await startMetadataServer({ bincache: { x86_64: records }, pkgcache: { x86_64: [] } });
    const engine = await connectEngine().catch(() => null);
    if (!engine) log('no engine: measuring without the image checks and container reaping');
    try {
      const req = {
        db: join(work, 'big', 'audit.db'),
        reportsDir: join(work, 'big', 'reports'),
        filter: {},
        arches: ['x86_64' as const],
        jobs: 4,
        retry: DEFAULT_RETRY,
        metadata: { baseUrl: meta.url, cacheDir: join(work, 'metadata-cache') },
        registry: {},
      };
      const seed = seedVerifier();
      let t0 = performance.now();
      const first = await runAuditRequest(req, { verify: seed, engine });
      const seedMs = performance.now() - t0;
      if (first.summary.counts.verified !== N || seed.calls !== N) {
        throw new Error(`seeding verified ${first.summary.counts.verified} of ${N}`);
      }
      log(`seeded: ${N} results in ${(seedMs / 1000).toFixed(1)} s (first audit, instant fake verifier)`);
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        t0 = performance.now();
        const again = await runAuditRequest(req, { verify: neverCalled, engine });
        const ms = performance.now() - t0;
        if (again.summary.counts.skipped !== N || again.exitCode !== 0) {
          throw new Error(
            `unchanged audit: ${again.summary.counts.skipped} of ${N} skipped, exit ${again.exitCode}`,
          );
        }
        times.push(ms);
        log(`unchanged audit ${i + 1}: ${(ms / 1000).toFixed(2)} s, ${(ms / N).toFixed(3)} ms/package`);
      }
      times.sort((a, b) => a - b);
      const median = times[1]!;
      const per = median / N;
      summary.push(
        `unchanged audit of ${N.toLocaleString('en-US')} packages: ${(median / 1000).toFixed(2)} s median of 3 = ${per.toFixed(3)} ms/package (target < ${TARGET_MS} ms: ${per < TARGET_MS ? 'met' : 'NOT MET'})`,
      );
    } finally {
      await meta.stop();
    }

    // ---- 2. a real audit of the examples
    if (!engine) {
      summary.push('real audit of the examples: skipped (no engine)');
      return summary;
    }
    const registry = await startRegistry();
    const idx: Record<string, unknown>[] = [];
    for (const dir of ['wc-host', 'tally-container', 'hello-docker-run'] as const) {
      idx.push((await publishExample(registry.url, dir)).record);
    }
    const meta2 = await startMetadataServer({ bincache: { x86_64: idx }, pkgcache: { x86_64: [] } });
    try {
      const req = {
        db: join(work, 'examples', 'audit.db'),
        reportsDir: join(work, 'examples', 'reports'),
        filter: {},
        arches: ['x86_64' as const],
        jobs: 2,
        retry: DEFAULT_RETRY,
        metadata: { baseUrl: meta2.url, cacheDir: join(work, 'metadata-cache-2') },
        registry: { mirrors: { 'ghcr.io': registry.url }, cacheDir: join(work, 'blobs') },
      };
      let t0 = performance.now();
      const first = await runAuditRequest(req);
      const ms = performance.now() - t0;
      const n = first.summary.counts.verified;
      const verdicts = Object.entries(first.summary.counts.verdicts)
        .filter(([, c]) => c > 0)
        .map(([v, c]) => `${c} ${v}`)
        .join(', ');
      log(`real audit: ${n} verified (${verdicts}) in ${(ms / 1000).toFixed(1)} s`);
      t0 = performance.now();
      const second = await runAuditRequest(req);
      const ms2 = performance.now() - t0;
      summary.push(
        `real audit of the ${n} examples (x86_64, --jobs 2): ${(ms / 1000).toFixed(1)} s = ${(ms / 1000 / n).toFixed(2)} s/package, ${((n / ms) * 60_000).toFixed(0)} packages/min (${verdicts})`,
        `same audit again, nothing changed: ${(ms2 / 1000).toFixed(2)} s (${second.summary.counts.skipped} skipped)`,
      );
    } finally {
      await meta2.stop();
      await registry.stop();
    }
    return summary;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
