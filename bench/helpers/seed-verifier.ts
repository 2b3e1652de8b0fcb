/**
 * A verifier that "verifies" instantly and counts its calls: it seeds the
 * database with a reproducible result per package (the unchanged-audit
 * benches) or stands for a build of no cost (the queue bench).
 */
import type { Verifier } from '../../src/audit/types.js';
import type { PackageRecord } from '../../src/upstream/types.js';
import type { VerifyOptions, VerifyResult } from '../../src/verify/types.js';
import { unattemptedResult } from '../../src/verify/verify.js';

export function seedVerifier(): Verifier & { calls: number } {
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
