/**
 * A real morning report for the report tests: two audits run by the real
 * scheduler into a real database (fake verifier), the second with a
 * regression, a fix, an upstream integrity failure, a first verdict, an
 * unresolved list entry, and package names that are HTML/Markdown payloads.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeMorningReport } from '../../src/audit/audit.js';
import { DEFAULT_RETRY } from '../../src/audit/policy.js';
import { type AuditSummary, summarize } from '../../src/audit/report.js';
import { reportContext } from '../../src/audit/report-context.js';
import { runAudit } from '../../src/audit/run.js';
import { AuditStore } from '../../src/audit/store.js';
import type { AuditItem, Verifier } from '../../src/audit/types.js';
import type { VerifyVerdict } from '../../src/verify/types.js';
import { unit, verifyResult } from './fixtures.js';

export const EVIL_PKG = "<script>document.title='pwned'</script>";
export const EVIL_ID = '<img src=x onerror=alert(1)>';
export const EVIL_VERSION = '1.0"><b>bold</b>|`x`|[link](javascript:alert(1))';

/** The scheduler's settings for the report tests' audits: no retries of a mismatch, audits under `dir`. */
export function reportAuditConfig(dir: string) {
  return {
    jobs: 2,
    retry: { ...DEFAULT_RETRY, mismatchRetries: 0 },
    outDir: (id: number) => join(dir, `audit-${id}`),
    verify: { metadata: {}, registry: {} },
    options: {},
  };
}

export async function twoAudits(dir: string): Promise<{ summary: AuditSummary; reportDir: string }> {
  const store = await AuditStore.open(join(dir, 'audit.db'));
  try {
    const answers: Record<string, VerifyVerdict>[] = [
      { a: 'reproducible', b: 'different', [EVIL_PKG]: 'reproducible' },
      { a: 'different', b: 'equivalent', [EVIL_PKG]: 'upstream-integrity', c: 'reproducible' },
    ];
    const units = [
      unit('a'),
      unit('b'),
      unit(EVIL_PKG, { pkgId: EVIL_ID, version: EVIL_VERSION }),
      unit('c'),
    ];
    let round = 0;
    const verify: Verifier = async (rec, opts) => {
      const verdict = answers[round]![rec.pkg] ?? 'reproducible';
      // where the real verification's build leaves its forensic report when the bytes differ
      if (verdict === 'different' && opts.outDir && !rec.pkg.includes('/')) {
        await mkdir(join(opts.outDir, 'build', 'compare'), { recursive: true });
        await writeFile(join(opts.outDir, 'build', 'compare', `${rec.pkg}.html`), '<!DOCTYPE html>');
      }
      return verifyResult(rec, opts, verdict);
    };
    const config = reportAuditConfig(dir);
    const env = { imageId: () => 'sha256:img1' };
    // the first night's morning report, as `rebuild audit` writes it (the second links to it)
    const first = await runAudit(units.slice(0, 3), [], config, { store, verify, env });
    await writeMorningReport(store, dir, first);
    round = 1;
    const unresolved: AuditItem = {
      unit: 'list.txt:9',
      repo: '',
      pkg: 'ghost',
      pkgId: '',
      arch: 'x86_64',
      version: '',
      status: 'unresolved',
      detail: 'list.txt line 9: ghost is not in the metadata index for x86_64',
    };
    const out = await runAudit(units, [unresolved], { ...config, recheck: true }, { store, verify, env });
    const reportDir = out.dir;
    await mkdir(reportDir, { recursive: true });
    const summary = summarize({
      audit: (await store.audit(out.auditId))!,
      database: join(dir, 'audit.db'),
      items: out.items,
      reportDir,
      reports: {
        json: join(reportDir, 'summary.json'),
        markdown: join(reportDir, 'report.md'),
        html: join(reportDir, 'report.html'),
      },
      deadlineReached: false,
      interrupted: false,
      killed: [],
      finishedAt: out.finishedAt,
      context: await reportContext(store, out.auditId, out.items),
    });
    return { summary, reportDir };
  } finally {
    await store.close();
  }
}
