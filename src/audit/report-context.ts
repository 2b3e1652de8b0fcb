/**
 * What the morning report shows beyond this audit, read from the database:
 * each package's verdicts over the last nights (the strip), and the audit
 * before this one with its report (the link to the previous night).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NightVerdict } from '../report/strip.js';
import type { AuditStore } from './store.js';
import type { AuditItem } from './types.js';

/** Nights shown in a package's strip. */
export const STRIP_NIGHTS = 14;

export interface PreviousAudit {
  id: number;
  finishedAt: string | null;
  status: string;
  /** Absolute path of its HTML report, when it is still there. */
  reportHtml: string | null;
}

export interface ReportContext {
  /** By unit: verdicts of the audits up to this one, oldest first, at most STRIP_NIGHTS. */
  nights: Map<string, NightVerdict[]>;
  previous: PreviousAudit | null;
}

export async function reportContext(
  store: AuditStore,
  auditId: number,
  items: readonly AuditItem[],
): Promise<ReportContext> {
  // One statement per 500 units, the strip's few columns only: not every unit's whole history.
  const units = [...new Set(items.filter((it) => it.status !== 'unresolved').map((it) => it.unit))];
  const strips = await store.lastVerdicts(units, auditId, STRIP_NIGHTS);
  const nights = new Map<string, NightVerdict[]>();
  for (const u of units) {
    nights.set(
      u,
      (strips.get(u) ?? []).map((r) => ({ at: r.finishedAt, verdict: r.verdict, auditId: r.auditId })),
    );
  }
  const before = (await store.audits(50)).find(
    (a) => a.id < auditId && (a.status === 'finished' || a.status === 'interrupted'),
  );
  const html = before?.reportDir ? join(before.reportDir, 'report.html') : null;
  return {
    nights,
    previous: before
      ? {
          id: before.id,
          finishedAt: before.finishedAt,
          status: before.status,
          reportHtml: html && existsSync(html) ? html : null,
        }
      : null,
  };
}
