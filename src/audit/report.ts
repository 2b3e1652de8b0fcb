/**
 * The morning report of one audit: a JSON summary, and the same content as
 * Markdown and as one self-contained HTML page (inline CSS, no scripts, a
 * Content-Security-Policy that forbids loading anything; every piece of data
 * escaped). The changes since last time come first, regressions at the top;
 * then counts per verdict; then every package with its verdict, timings and a
 * link to its own report. Pure functions: writing the files is the caller's.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { auditExitCode, ExitCode } from '../cli/exit-codes.js';
import { ATTESTATION_FILE } from '../evidence/bundle.js';
import { duration, localTime } from '../report/format.js';
import { escapeHtml, htmlPage } from '../report/html.js';
import { relativeUrl } from '../report/links.js';
import { mdCode, mdEscape } from '../report/markdown.js';
import {
  type NightVerdict,
  STRIP_CSS,
  stripNights,
  verdictStripHtml,
  verdictStripLegend,
  verdictStripText,
} from '../report/strip.js';
import type { VerifyVerdict } from '../verify/types.js';
import { CHANGE_ORDER } from './policy.js';
import type { ReportContext } from './report-context.js';
import { type AuditItem, type AuditRunRow, type ChangeKind, type ItemStatus, WORSE } from './types.js';

export const VERDICTS: readonly VerifyVerdict[] = [
  'reproducible',
  'equivalent',
  'different',
  'build-failed',
  'upstream-integrity',
  'error',
];

export interface ReportLinks {
  /** The signed statement beside the result (`rebuild audit --attest KEY`). */
  attestation?: string;
  /** The forensic report of the rebuilt file against the published one (when they differ). */
  forensic?: string;
  html?: string;
  markdown?: string;
  json?: string;
}

export interface PackageLine {
  unit: string;
  pkg: string;
  pkgId: string;
  repo: string;
  arch: string;
  version: string;
  status: ItemStatus;
  /** The verdict now: verified in this audit, or (skipped) the one it reuses. */
  verdict: VerifyVerdict | null;
  /** Only for units verified in this audit. */
  change: ChangeKind | null;
  previous: { verdict: VerifyVerdict; version: string } | null;
  detail: string;
  /** The audit whose verification this line shows. */
  verifiedBy: number | null;
  durationMs: number | null;
  wallMs: number | null;
  /** Distributed audits: the worker that verified it now, and whether it ran the arch natively. */
  worker: { name: string; mode: 'native' | 'emulated' | null } | null;
  attempts: number | null;
  attemptVerdicts: VerifyVerdict[];
  /** Relative to the audit's report directory. */
  report: ReportLinks;
  /** Its verdicts over the last audits up to this one, oldest first (the strip). */
  nights: NightVerdict[];
}

export interface AuditSummary {
  schema: 'rebuild.audit/1';
  audit: {
    id: number;
    status: AuditRunRow['status'];
    startedAt: string;
    finishedAt: string;
    host: string;
    pid: number;
    database: string;
    deadline: string | null;
    deadlineReached: boolean;
    interrupted: boolean;
    /** Earlier audits found dead (killed) when this one started: their unfinished work was redone. */
    killedBefore: number[];
    options: Record<string, unknown>;
  };
  counts: {
    selected: number;
    verified: number;
    skipped: number;
    elsewhere: number;
    notReached: number;
    waiting: number;
    unresolved: number;
    /** Latest verdict of every selected package (verified now or reused). */
    verdicts: Record<VerifyVerdict, number>;
    /** Verdicts reached in this audit only. */
    verifiedNow: Record<VerifyVerdict, number>;
    changes: Partial<Record<ChangeKind, number>>;
  };
  /** Changes since last time, most important first (not `unchanged`, not `first`). */
  changes: PackageLine[];
  packages: PackageLine[];
  exit: { code: number; meaning: string };
  reports: { json: string; markdown: string; html: string };
  /** The audit before this one, and its report relative to this report's directory. */
  previous: { id: number; finishedAt: string | null; status: string; report: string | null } | null;
}

function link(reportDir: string, target: string | null | undefined): string | undefined {
  if (!target) return undefined;
  return relative(reportDir, target).split(sep).join('/');
}

/** The comparison report the verification's build wrote (`build/compare/<file>.html`), if any. */
function forensicReport(outDir: string | null | undefined): string | undefined {
  if (!outDir) return undefined;
  const dir = join(outDir, 'build', 'compare');
  try {
    const html = readdirSync(dir)
      .filter((n) => n.endsWith('.html'))
      .sort();
    return html[0] ? join(dir, html[0]) : undefined;
  } catch {
    return undefined;
  }
}

export function packageLine(
  it: AuditItem,
  reportDir: string,
  nights: readonly NightVerdict[] = [],
): PackageLine {
  const r = it.result;
  const now = it.status === 'verified';
  const forensic = forensicReport(r?.outDir);
  return {
    unit: it.unit,
    pkg: it.pkg,
    pkgId: it.pkgId,
    repo: it.repo,
    arch: it.arch,
    version: it.version,
    status: it.status,
    verdict: r?.verdict ?? null,
    change: now && r ? r.change : null,
    previous: now && r?.prevVerdict ? { verdict: r.prevVerdict, version: r.prevVersion ?? '' } : null,
    detail: it.detail,
    verifiedBy: r?.auditId ?? null,
    durationMs: r?.durationMs ?? null,
    wallMs: it.wallMs ?? null,
    worker: now && r?.worker ? { name: r.worker, mode: r.workerMode } : null,
    attempts: r?.attempts ?? null,
    attemptVerdicts: r?.attemptVerdicts ?? [],
    report: {
      ...(r?.reportHtml ? { html: link(reportDir, r.reportHtml) } : {}),
      ...(r?.reportMarkdown ? { markdown: link(reportDir, r.reportMarkdown) } : {}),
      ...(r?.reportJson ? { json: link(reportDir, r.reportJson) } : {}),
      ...(forensic ? { forensic: link(reportDir, forensic) } : {}),
      ...(r?.reportJson && existsSync(join(dirname(r.reportJson), ATTESTATION_FILE))
        ? { attestation: link(reportDir, join(dirname(r.reportJson), ATTESTATION_FILE)) }
        : {}),
    },
    nights: [...nights],
  };
}

const zero = (): Record<VerifyVerdict, number> =>
  Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<VerifyVerdict, number>;

export function summarize(input: {
  audit: AuditRunRow;
  database: string;
  items: readonly AuditItem[];
  reportDir: string;
  reports: { json: string; markdown: string; html: string };
  deadline?: Date;
  deadlineReached: boolean;
  interrupted: boolean;
  killed: readonly AuditRunRow[];
  finishedAt: string;
  /** The strips and the previous audit (`reportContext`); without it, none. */
  context?: ReportContext;
}): AuditSummary {
  const packages = input.items.map((it) =>
    packageLine(it, input.reportDir, input.context?.nights.get(it.unit) ?? []),
  );
  const verdicts = zero();
  const verifiedNow = zero();
  const changeCounts: Partial<Record<ChangeKind, number>> = {};
  const count = (s: ItemStatus) => packages.filter((p) => p.status === s).length;
  for (const p of packages) {
    if (p.verdict) verdicts[p.verdict]++;
    if (p.status === 'verified' && p.verdict) verifiedNow[p.verdict]++;
    if (p.change) changeCounts[p.change] = (changeCounts[p.change] ?? 0) + 1;
  }
  const changes = packages
    .filter((p) => p.change && p.change !== 'unchanged' && p.change !== 'first')
    .sort(
      (a, b) =>
        CHANGE_ORDER.indexOf(a.change!) - CHANGE_ORDER.indexOf(b.change!) || a.unit.localeCompare(b.unit),
    );
  const a = input.audit;
  const prev = input.context?.previous;
  return {
    schema: 'rebuild.audit/1',
    audit: {
      id: a.id,
      status: a.status,
      startedAt: a.startedAt,
      finishedAt: input.finishedAt,
      host: a.host,
      pid: a.pid,
      database: input.database,
      deadline: input.deadline?.toISOString() ?? null,
      deadlineReached: input.deadlineReached,
      interrupted: input.interrupted,
      killedBefore: input.killed.map((k) => k.id),
      options: a.options,
    },
    counts: {
      selected: packages.filter((p) => p.status !== 'unresolved').length,
      verified: count('verified'),
      skipped: count('skipped'),
      elsewhere: count('elsewhere'),
      notReached: count('not-reached'),
      waiting: count('waiting'),
      unresolved: count('unresolved'),
      verdicts,
      verifiedNow,
      changes: changeCounts,
    },
    changes,
    packages,
    exit: auditExitCode(changes, input.interrupted),
    reports: {
      json: link(input.reportDir, input.reports.json)!,
      markdown: link(input.reportDir, input.reports.markdown)!,
      html: link(input.reportDir, input.reports.html)!,
    },
    previous: prev
      ? {
          id: prev.id,
          finishedAt: prev.finishedAt,
          status: prev.status,
          report: link(input.reportDir, prev.reportHtml) ?? null,
        }
      : null,
  };
}

/** Statuses listed under "Not verified in this audit", with their reason. */
const NOT_VERIFIED: readonly ItemStatus[] = ['unresolved', 'elsewhere', 'not-reached', 'waiting'];

/** Which worker verified what (distributed audits; empty for a local one). */
function workersOf(
  s: AuditSummary,
): Array<{ name: string; units: Array<{ pkg: string; arch: string; mode: string }> }> {
  const by = new Map<string, Array<{ pkg: string; arch: string; mode: string }>>();
  for (const p of s.packages) {
    if (!p.worker) continue;
    by.set(p.worker.name, [
      ...(by.get(p.worker.name) ?? []),
      { pkg: p.pkg, arch: p.arch, mode: p.worker.mode ?? 'native' },
    ]);
  }
  return [...by.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, units]) => ({ name, units }));
}

// ---------------------------------------------------------------- words

export const CHANGE_TITLE: Record<ChangeKind, string> = {
  regression: 'REGRESSION',
  'upstream-integrity': 'UPSTREAM INTEGRITY FAILURE',
  'new-different': 'new: different',
  'now-fails': 'now fails',
  fixed: 'fixed',
  'new-version': 'new version',
  first: 'first verdict',
  unchanged: 'unchanged',
};

const STATUS_WORD: Record<ItemStatus, string> = {
  verified: 'verified',
  skipped: 'unchanged (skipped)',
  elsewhere: 'taken by another audit',
  'not-reached': 'not reached',
  unresolved: 'not in the index',
  waiting: 'waiting for a capable worker',
};

function changeSentence(p: PackageLine): string {
  const prev = p.previous ? `${p.previous.verdict} at ${p.previous.version}` : 'never verified';
  const now = `${p.verdict ?? '—'} at ${p.version}`;
  switch (p.change) {
    case 'regression':
      return `was ${prev}, now ${now}`;
    case 'upstream-integrity':
      return `the published file of ${p.version} does not match its own published checksums`;
    case 'fixed':
      return `was ${prev}, now ${now}`;
    case 'new-version':
      return `new upstream version ${p.version} (was ${p.previous?.version ?? '?'}): ${p.verdict}`;
    case 'new-different':
      return `${now} (${p.previous ? `was ${prev}` : 'first verdict'})`;
    case 'now-fails':
      return `${now} (${p.previous ? `was ${prev}` : 'first attempt'})`;
    default:
      return now;
  }
}

function headline(s: AuditSummary): string {
  const c = s.counts;
  const parts = [
    `${c.selected} package${c.selected === 1 ? '' : 's'}`,
    `${c.verified} verified`,
    `${c.skipped} unchanged`,
  ];
  if (c.notReached) parts.push(`${c.notReached} not reached`);
  if (c.elsewhere) parts.push(`${c.elsewhere} taken by another audit`);
  if (c.waiting) parts.push(`${c.waiting} waiting for a capable worker`);
  if (c.unresolved) parts.push(`${c.unresolved} not in the index`);
  return parts.join(', ');
}

function title(s: AuditSummary): string {
  const word =
    s.exit.code === ExitCode.auditRegressed
      ? 'GOT WORSE'
      : s.exit.code === ExitCode.auditNewFailures
        ? 'new failures'
        : s.exit.code === ExitCode.interrupted
          ? 'interrupted'
          : 'nothing got worse';
  return `rebuild audit #${s.audit.id}: ${word}`;
}

function timing(p: PackageLine): string {
  if (p.status !== 'verified') return p.durationMs !== null ? `(${duration(p.durationMs)} then)` : '';
  const t = p.durationMs !== null ? duration(p.durationMs) : '';
  return p.attempts && p.attempts > 1 ? `${t}, ${p.attempts} attempts (${p.attemptVerdicts.join(', ')})` : t;
}

/** How times are written: local with the zone and how long ago, relative to `now` (tests pin both). */
export interface TimeOptions {
  now?: Date;
  timeZone?: string;
}

function when(iso: string | null, t: TimeOptions): string {
  return iso ? localTime(iso, t.now ?? new Date(), t.timeZone) : '—';
}

function strip(p: PackageLine): string {
  return verdictStripText(p.nights);
}

const STRIP_NOTE = `Last nights, oldest first: ${verdictStripLegend()}.`;

// ---------------------------------------------------------------- Markdown

function mdLink(text: string, rel: string | undefined): string {
  return rel ? `[${mdEscape(text)}](${relativeUrl(rel)})` : '';
}

function stripMd(p: PackageLine): string {
  return p.nights.length ? mdCode(strip(p)) : '';
}

function previousMd(p: NonNullable<AuditSummary['previous']>, t: TimeOptions): string {
  const what = `#${p.id}, ${p.status} ${when(p.finishedAt, t)}`;
  return p.report ? `${mdLink(what, p.report)}` : `${mdEscape(what)} (its report is gone)`;
}

function mdCell(s: string): string {
  return s === '' ? ' ' : s;
}

export function renderAuditMarkdown(s: AuditSummary, t: TimeOptions = {}): string {
  const out: string[] = [];
  out.push(`# ${mdEscape(title(s))}`, '');
  out.push(`${mdEscape(headline(s))}.`, '');
  out.push(
    `- **Started:** ${mdEscape(when(s.audit.startedAt, t))}, **finished:** ${mdEscape(when(s.audit.finishedAt, t))} (${mdEscape(s.audit.status)}) on ${mdCode(s.audit.host)}`,
    `- **Exit code:** ${s.exit.code} — ${mdEscape(s.exit.meaning)}`,
    `- **Database:** ${mdCode(s.audit.database)}`,
  );
  if (s.audit.deadline) {
    out.push(
      `- **Deadline:** ${mdEscape(when(s.audit.deadline, t))}${s.audit.deadlineReached ? ' (reached: the rest is left for the next audit)' : ''}`,
    );
  }
  if (s.audit.interrupted) out.push('- **Interrupted:** the rest is left for the next audit');
  if (s.audit.killedBefore.length) {
    out.push(
      `- **Resumed** the work of killed audit(s) ${s.audit.killedBefore.map((k) => `#${k}`).join(', ')}`,
    );
  }
  if (s.previous) out.push(`- **Previous audit:** ${previousMd(s.previous, t)}`);
  out.push('', '## Changes since last time', '');
  if (s.changes.length === 0) out.push('No changes.');
  else {
    out.push(
      '| change | package | arch | repo | what | last nights | report |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const c of s.changes) {
      const word = WORSE.includes(c.change!)
        ? `**${mdEscape(CHANGE_TITLE[c.change!])}**`
        : mdEscape(CHANGE_TITLE[c.change!]);
      out.push(
        `| ${word} | ${mdCode(c.pkg)} | ${mdEscape(c.arch)} | ${mdEscape(c.repo)} | ${mdEscape(changeSentence(c))} | ${mdCell(stripMd(c))} | ${mdCell(reportLinksMd(c.report))} |`,
      );
    }
  }
  out.push('', '## Verdicts', '');
  out.push('| verdict | packages | verified now |', '| --- | ---: | ---: |');
  for (const v of VERDICTS) out.push(`| ${v} | ${s.counts.verdicts[v]} | ${s.counts.verifiedNow[v]} |`);
  out.push('', '## Packages', '');
  out.push(
    '| package | version | arch | repo | verdict | last nights | status | change | time | report |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const p of s.packages) {
    out.push(
      `| ${mdCode(p.pkg)} | ${mdCell(p.version ? mdCode(p.version) : '')} | ${mdEscape(p.arch)} | ${mdCell(mdEscape(p.repo))} | ${mdEscape(p.verdict ?? '—')} | ${mdCell(stripMd(p))} | ${mdEscape(STATUS_WORD[p.status])} | ${mdCell(p.change ? mdEscape(CHANGE_TITLE[p.change]) : '')} | ${mdCell(mdEscape(timing(p)))} | ${mdCell(reportLinksMd(p.report))} |`,
    );
  }
  out.push('', mdEscape(STRIP_NOTE));
  const notes = s.packages.filter((p) => NOT_VERIFIED.includes(p.status));
  if (notes.length) {
    out.push('', '## Not verified in this audit', '');
    for (const p of notes) out.push(`- ${mdCode(p.pkg)} (${mdEscape(p.arch)}): ${mdEscape(p.detail)}`);
  }
  const byWorker = workersOf(s);
  if (byWorker.length) {
    out.push('', '## Workers', '');
    for (const w of byWorker) {
      out.push(
        `- ${mdCode(w.name)}: ${w.units.map((u) => `${mdCode(u.pkg)} (${mdEscape(u.arch)}, ${mdEscape(u.mode)})`).join(', ')}`,
      );
    }
  }
  out.push('', `_${mdEscape(`${s.schema} · audit #${s.audit.id} · ${s.reports.json}`)}_`, '');
  return out.join('\n');
}

// ---------------------------------------------------------------- HTML

function href(rel: string | undefined): string | undefined {
  return rel ? relativeUrl(rel) : undefined;
}

/** The report link, and the signed statement's when the result was attested. */
function reportLinksMd(r: ReportLinks): string {
  return [
    mdLink('report', r.html ?? r.markdown),
    mdLink('forensic report', r.forensic),
    mdLink('attestation', r.attestation),
  ]
    .filter(Boolean)
    .join(' · ');
}

function reportLinksHtml(r: ReportLinks): string {
  return [a('report', r.html), a('forensic report', r.forensic), a('attestation', r.attestation)]
    .filter(Boolean)
    .join(' · ');
}

function a(text: string, rel: string | undefined): string {
  const h = href(rel);
  return h ? `<a href="${escapeHtml(h)}">${escapeHtml(text)}</a>` : '';
}

const VERDICT_TONE: Record<VerifyVerdict, string> = {
  reproducible: 'ok',
  equivalent: 'warn',
  different: 'bad',
  'build-failed': 'bad',
  'upstream-integrity': 'bad',
  error: 'dim',
};

function verdictCell(v: VerifyVerdict | null): string {
  return v ? `<span class="v v-${VERDICT_TONE[v]}">${escapeHtml(v)}</span>` : '<span class="dim">—</span>';
}

const CSS = `
:root{color-scheme:light dark;--bg:#fdfdfc;--fg:#1d1f21;--muted:#5c6166;--line:#d8dadc;--head:#f1f2f3;
--ok:#17703a;--warn:#8a5a00;--bad:#b3261e;--badbg:#fde8e6;--okbg:#e5f5ea}
@media (prefers-color-scheme:dark){:root{--bg:#16181a;--fg:#e3e5e8;--muted:#9aa0a6;--line:#3a3e43;--head:#202327;
--ok:#6fd58f;--warn:#f0c05a;--bad:#ff8a80;--badbg:#411b18;--okbg:#173321}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:1280px;margin:0 auto;padding:24px 28px 48px}
code{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:13px}
h1{font-size:22px;margin:0 0 6px}
h2{font-size:18px;margin:30px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
header{padding:16px 20px;border-radius:8px;border:1px solid var(--line)}
header.worse{background:var(--badbg)}header.ok{background:var(--okbg)}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:10px 0 0}
.kv dt{color:var(--muted)}.kv dd{margin:0;overflow-wrap:anywhere}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:6px 0 10px;font-size:14px}
th,td{border:1px solid var(--line);padding:4px 9px;text-align:left;vertical-align:top}
thead th{background:var(--head)}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.worse td{background:var(--badbg)}
.v{font-weight:600}.v-ok{color:var(--ok)}.v-warn{color:var(--warn)}.v-bad{color:var(--bad)}.v-dim,.dim{color:var(--muted)}
.change-worse{color:var(--bad);font-weight:700}
a{color:inherit}
ul.nights{columns:20em;font-size:13px;margin:0 0 10px}
footer{margin-top:36px;color:var(--muted);font-size:13px;border-top:1px solid var(--line);padding-top:8px}
`
  .trim()
  .replace(/\n/g, '');

function timeHtml(iso: string | null, t: TimeOptions): string {
  return iso
    ? `<time datetime="${escapeHtml(iso)}" title="${escapeHtml(iso)}">${escapeHtml(when(iso, t))}</time>`
    : '—';
}

function stripHtml(p: PackageLine, t: TimeOptions): string {
  return p.nights.length ? verdictStripHtml(p.nights, (iso) => when(iso, t)) : '';
}

/** When each audit the strips name verified what they show (once per report, not once per cell). */
function stripNightsHtml(s: AuditSummary, t: TimeOptions): string {
  const nights = stripNights(s.packages.map((p) => p.nights));
  if (nights.length === 0) return '';
  const items = nights.map((n) => {
    const first = timeHtml(n.first, t);
    const last =
      n.last === n.first || when(n.last, t) === when(n.first, t) ? '' : ` – ${timeHtml(n.last, t)}`;
    return `<li>#${n.auditId}: ${first}${last}</li>`;
  });
  return `<p class="dim">The strips' nights, by audit:</p><ul class="dim nights">${items.join('')}</ul>`;
}

export function renderAuditHtml(s: AuditSummary, t: TimeOptions = {}): string {
  const e = escapeHtml;
  const worse = s.exit.code === ExitCode.auditRegressed;
  const kv: Array<[string, string]> = [
    ['Started', timeHtml(s.audit.startedAt, t)],
    ['Finished', `${timeHtml(s.audit.finishedAt, t)} (${e(s.audit.status)})`],
    ['Host', `<code>${e(s.audit.host)}</code>`],
    ['Exit code', `${s.exit.code} — ${e(s.exit.meaning)}`],
    ['Database', `<code>${e(s.audit.database)}</code>`],
  ];
  if (s.audit.deadline) {
    kv.push([
      'Deadline',
      `${timeHtml(s.audit.deadline, t)}${s.audit.deadlineReached ? ' (reached: the rest is left for the next audit)' : ''}`,
    ]);
  }
  if (s.audit.interrupted) kv.push(['Interrupted', 'the rest is left for the next audit']);
  if (s.audit.killedBefore.length) {
    kv.push([
      'Resumed',
      e(`the work of killed audit(s) ${s.audit.killedBefore.map((k) => `#${k}`).join(', ')}`),
    ]);
  }
  if (s.previous) {
    const p = s.previous;
    const what = `#${p.id}, ${e(p.status)} ${timeHtml(p.finishedAt, t)}`;
    kv.push([
      'Previous audit',
      p.report ? `<a href="${e(href(p.report)!)}" rel="prev">${what}</a>` : `${what} (its report is gone)`,
    ]);
  }
  const parts: string[] = [];
  parts.push(
    `<header class="${worse ? 'worse' : 'ok'}"><h1>${e(title(s))}</h1><div>${e(headline(s))}.</div><dl class="kv">${kv
      .map(([k, v]) => `<dt>${e(k)}</dt><dd>${v}</dd>`)
      .join('')}</dl></header>`,
  );
  parts.push('<h2>Changes since last time</h2>');
  if (s.changes.length === 0) parts.push('<p>No changes.</p>');
  else {
    const rows = s.changes
      .map((c) => {
        const bad = WORSE.includes(c.change!);
        return `<tr${bad ? ' class="worse"' : ''}><td class="${bad ? 'change-worse' : ''}">${e(CHANGE_TITLE[c.change!])}</td><td><code>${e(c.pkg)}</code></td><td>${e(c.arch)}</td><td>${e(c.repo)}</td><td>${e(changeSentence(c))}</td><td>${stripHtml(c, t)}</td><td>${reportLinksHtml(c.report)}</td></tr>`;
      })
      .join('');
    parts.push(
      `<div class="scroll"><table class="changes"><thead><tr><th>change</th><th>package</th><th>arch</th><th>repo</th><th>what</th><th>last nights</th><th>report</th></tr></thead><tbody>${rows}</tbody></table></div>`,
    );
  }
  parts.push('<h2>Verdicts</h2>');
  parts.push(
    `<div class="scroll"><table class="verdicts"><thead><tr><th>verdict</th><th>packages</th><th>verified now</th></tr></thead><tbody>${VERDICTS.map(
      (v) =>
        `<tr><td>${verdictCell(v)}</td><td class="n">${s.counts.verdicts[v]}</td><td class="n">${s.counts.verifiedNow[v]}</td></tr>`,
    ).join('')}</tbody></table></div>`,
  );
  parts.push('<h2>Packages</h2>');
  const rows = s.packages
    .map((p) => {
      const bad = p.change !== null && WORSE.includes(p.change);
      return `<tr${bad ? ' class="worse"' : ''}><td><code>${e(p.pkg)}</code></td><td><code>${e(p.version)}</code></td><td>${e(p.arch)}</td><td>${e(p.repo)}</td><td>${verdictCell(p.verdict)}</td><td>${stripHtml(p, t)}</td><td>${e(STATUS_WORD[p.status])}</td><td>${p.change ? e(CHANGE_TITLE[p.change]) : ''}</td><td>${e(timing(p))}</td><td>${reportLinksHtml(p.report)}</td></tr>`;
    })
    .join('');
  parts.push(
    `<div class="scroll"><table class="packages"><thead><tr><th>package</th><th>version</th><th>arch</th><th>repo</th><th>verdict</th><th>last nights</th><th>status</th><th>change</th><th>time</th><th>report</th></tr></thead><tbody>${rows}</tbody></table></div>`,
  );
  parts.push(`<p class="dim">${e(STRIP_NOTE)}</p>`);
  parts.push(stripNightsHtml(s, t));
  const notes = s.packages.filter((p) => NOT_VERIFIED.includes(p.status));
  if (notes.length) {
    parts.push('<h2>Not verified in this audit</h2>');
    parts.push(
      `<ul>${notes.map((p) => `<li><code>${e(p.pkg)}</code> (${e(p.arch)}): ${e(p.detail)}</li>`).join('')}</ul>`,
    );
  }
  const byWorker = workersOf(s);
  if (byWorker.length) {
    parts.push('<h2>Workers</h2>');
    parts.push(
      `<ul>${byWorker.map((w) => `<li><code>${e(w.name)}</code>: ${w.units.map((u) => `<code>${e(u.pkg)}</code> (${e(u.arch)}, ${e(u.mode)})`).join(', ')}</li>`).join('')}</ul>`,
    );
  }
  parts.push(`<footer>${e(`${s.schema} · audit #${s.audit.id} · ${s.reports.json}`)}</footer>`);
  return htmlPage(title(s), CSS + STRIP_CSS, parts.join('\n'));
}

// ---------------------------------------------------------------- JSON

/**
 * summary.json: indented as `JSON.stringify(s, null, 2)` would, except that
 * each entry of `changes` and `packages` is one line (one package per line,
 * for grep and diff, and without 14 nights × 5 lines of indentation per
 * package). The same value as the summary, key for key.
 */
export function renderAuditJson(s: AuditSummary): string {
  const fields = Object.entries(s).map(([k, v]) => {
    const text =
      (k === 'changes' || k === 'packages') && Array.isArray(v) && v.length > 0
        ? `[\n    ${v.map((p) => JSON.stringify(p)).join(',\n    ')}\n  ]`
        : // JSON text holds no raw newline but its own, so indenting its lines is safe.
          JSON.stringify(v, null, 2).replace(/\n/g, '\n  ');
    return `  ${JSON.stringify(k)}: ${text}`;
  });
  return `{\n${fields.join(',\n')}\n}\n`;
}

// ---------------------------------------------------------------- console

/** The summary printed at the end (stdout): headline, changes, counts, where the reports are. */
export function renderAuditText(s: AuditSummary, reportDir: string, t: TimeOptions = {}): string {
  const lines: string[] = [];
  lines.push(`${title(s)} — ${headline(s)}`);
  lines.push(`started ${when(s.audit.startedAt, t)}, finished ${when(s.audit.finishedAt, t)}`);
  if (s.changes.length) {
    lines.push('changes since last time:');
    for (const c of s.changes) {
      lines.push(
        `  ${CHANGE_TITLE[c.change!].padEnd(26)} ${c.pkg} (${c.arch}, ${c.repo}): ${changeSentence(c)}${c.nights.length > 1 ? ` [last nights: ${strip(c)}]` : ''}`,
      );
    }
  } else lines.push('changes since last time: none');
  lines.push(
    `verdicts: ${
      VERDICTS.filter((v) => s.counts.verdicts[v] > 0)
        .map((v) => `${s.counts.verdicts[v]} ${v}`)
        .join(', ') || 'none'
    }`,
  );
  if (s.audit.deadlineReached)
    lines.push(`deadline reached: ${s.counts.notReached} not reached (left for the next audit)`);
  if (s.audit.interrupted) lines.push(`interrupted: ${s.counts.notReached} not reached`);
  lines.push(`report: ${reportDir}/${s.reports.html} (also report.md, summary.json)`);
  if (s.previous) {
    const p = s.previous;
    lines.push(
      `previous: audit #${p.id}, ${p.status} ${when(p.finishedAt, t)}${p.report ? `: ${join(reportDir, p.report)}` : ''}`,
    );
  }
  lines.push(`exit ${s.exit.code}: ${s.exit.meaning}`);
  return `${lines.join('\n')}\n`;
}
