/** `rebuild history <pkg>`: a package's verdicts over time, from the audit database. */
import { clean, duration, localStamp, relativeTime } from '../report/format.js';
import type { StoredResult } from './types.js';

export interface HistoryEntry {
  auditId: number;
  finishedAt: string;
  repo: string;
  pkg: string;
  pkgId: string;
  arch: string;
  version: string;
  verdict: string;
  change: string;
  attempts: number;
  durationMs: number;
  summary: string;
  publishedSha256: string | null;
  rebuiltSha256: string | null;
  inputsHash: string | null;
  report: string | null;
}

export function historyEntries(results: readonly StoredResult[]): HistoryEntry[] {
  return results.map((r) => ({
    auditId: r.auditId,
    finishedAt: r.finishedAt,
    repo: r.repo,
    pkg: r.pkg,
    pkgId: r.pkgId,
    arch: r.arch,
    version: r.version,
    verdict: r.verdict,
    change: r.change,
    attempts: r.attempts,
    durationMs: r.durationMs,
    summary: r.summary,
    publishedSha256: r.publishedSha256,
    rebuiltSha256: r.rebuiltSha256,
    inputsHash: r.inputsHash,
    report: r.reportHtml ?? r.reportMarkdown ?? r.reportJson,
  }));
}

/** `2026-12-01 04:12 GMT+5:30` and a space. */
const WHEN_WIDTH = 26;

/** `3 days ago` and a space. */
const AGO_WIDTH = 12;

/**
 * One block per unit (package@arch), one line per verdict, oldest first;
 * times local, with the zone, and how long ago (`timeZone`, `now` for tests).
 */
export function renderHistoryText(
  results: readonly StoredResult[],
  timeZone?: string,
  now: Date = new Date(),
): string {
  const byUnit = new Map<string, StoredResult[]>();
  for (const r of results) byUnit.set(r.unit, [...(byUnit.get(r.unit) ?? []), r]);
  const out: string[] = [];
  for (const [unit, rs] of byUnit) {
    out.push(clean(`${unit}`));
    out.push(
      `  ${'when'.padEnd(WHEN_WIDTH)} ${''.padEnd(AGO_WIDTH)} ${'audit'.padEnd(6)} ${'version'.padEnd(16)} ${'verdict'.padEnd(18)} ${'change'.padEnd(18)} time`,
    );
    for (const r of rs) {
      const time = `${duration(r.durationMs)}${r.attempts > 1 ? ` (${r.attempts} attempts)` : ''}`;
      out.push(
        clean(
          `  ${localStamp(r.finishedAt, timeZone).padEnd(WHEN_WIDTH)} ${ago(r.finishedAt, now).padEnd(AGO_WIDTH)} ${`#${r.auditId}`.padEnd(6)} ${r.version.padEnd(16)} ${r.verdict.padEnd(18)} ${r.change.padEnd(18)} ${time}`,
        ),
      );
    }
    const last = rs[rs.length - 1]!;
    out.push(clean(`  last: ${last.summary}`));
    if (last.reportHtml) out.push(clean(`  report: ${last.reportHtml}`));
    out.push('');
  }
  return out.join('\n');
}

function ago(iso: string, now: Date): string {
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? '' : relativeTime(t, now);
}
