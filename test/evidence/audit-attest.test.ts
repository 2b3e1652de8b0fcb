import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAuditRequest } from '../../src/audit/audit.js';
import { DEFAULT_RETRY } from '../../src/audit/policy.js';
import type { Verifier } from '../../src/audit/types.js';
import { checkAttestation } from '../../src/evidence/attest.js';
import { attestingVerifier } from '../../src/evidence/attesting-verifier.js';
import { generateKeyPair, parseSigningKey, parseVerifyingKey } from '../../src/evidence/keys.js';
import { tempDir, verifyResult } from '../audit/fixtures.js';
import { type RunningServer, recordFor, startMetadataServer } from '../helpers/registry.js';

/**
 * Audits attest too: with a key, every result of a real audit run (SQLite
 * store, metadata from a loopback server) carries its signed statement, and
 * the morning report links it. The verifier inside is a stand-in that writes
 * a result.json as `rebuild <pkg>` does; the signing and the report are real.
 */
let work: string;
let cleanup: () => Promise<void>;
let meta: RunningServer;
const pair = generateKeyPair();

async function record(pkg: string) {
  return recordFor({
    repo: 'bincache',
    arch: 'x86_64',
    pkg,
    pkgId: `example.invalid.attest.${pkg}`,
    version: '1.0.0',
    buildDate: '2025-06-01T00:00:00Z',
    mainFile: pkg,
    files: [
      { name: pkg, bytes: Buffer.from(`#!/bin/sh\necho ${pkg}\n`) },
      { name: 'SBUILD', bytes: Buffer.from('#!/SBUILD\n') },
    ],
  });
}

beforeAll(async () => {
  ({ dir: work, cleanup } = await tempDir('rebuild-audit-attest-'));
  meta = await startMetadataServer({
    bincache: { x86_64: [await record('alpha'), await record('beta')] },
    pkgcache: { x86_64: [] },
  });
});

afterAll(async () => {
  await meta?.stop();
  await cleanup?.();
});

describe('rebuild audit --attest', () => {
  it('signs every result and links each statement from the morning report', async () => {
    const inner: Verifier = async (rec, opts) => {
      const r = verifyResult(rec, opts, rec.pkg === 'beta' ? 'different' : 'reproducible');
      await mkdir(dirname(r.reports.json), { recursive: true });
      await writeFile(r.reports.json, `${JSON.stringify(r, null, 2)}\n`);
      return r;
    };
    const run = await runAuditRequest(
      {
        db: join(work, 'audit.db'),
        reportsDir: join(work, 'reports'),
        filter: {},
        arches: ['x86_64'],
        jobs: 1,
        retry: { ...DEFAULT_RETRY, backoffMs: 10 },
        metadata: { baseUrl: meta.url, cacheDir: false },
        registry: {},
      },
      { verify: attestingVerifier(inner, parseSigningKey(pair.privatePem, 'k')), engine: null },
    );
    const lines = run.summary.packages;
    expect(lines.map((p) => p.pkg).sort()).toEqual(['alpha', 'beta']);
    const md = await readFile(run.reports.markdown, 'utf8');
    const html = await readFile(run.reports.html, 'utf8');
    for (const p of lines) {
      expect(p.report.attestation, p.pkg).toMatch(/attestation\.intoto\.jsonl$/);
      const path = join(dirname(run.reports.markdown), p.report.attestation!);
      const check = await checkAttestation(path, parseVerifyingKey(pair.publicPem, 'k.pub'));
      expect(check.ok).toBe(true);
      expect(check.statement?.predicate.verification.verdict).toBe(p.verdict);
    }
    expect(md).toContain('[attestation]');
    expect(html).toContain('>attestation</a>');
  });
});
