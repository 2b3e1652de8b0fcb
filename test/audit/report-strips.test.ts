/**
 * The strips of a morning report after many nights, as `rebuild audit`
 * writes them (real scheduler, real SQLite store, fake verifier, the report
 * files read back from disk): one element per strip whose label names every
 * night's audit and verdict, each audit's time listed once, and summary.json
 * one package per line holding the same value as the summary.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeMorningReport } from '../../src/audit/audit.js';
import { runAudit } from '../../src/audit/run.js';
import { AuditStore } from '../../src/audit/store.js';
import type { Verifier } from '../../src/audit/types.js';
import { verdictStripHtml } from '../../src/report/strip.js';
import { unit, verifyResult } from './fixtures.js';
import { reportAuditConfig } from './report-data.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-report-strips-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** 15 nights with --recheck (`flip` different on audit 8, `gap` only in odd audits), then an unchanged audit. */
async function fifteenNights() {
  const store = await AuditStore.open(join(dir, 'audit.db'));
  try {
    let night = 0;
    const verify: Verifier = async (rec, opts) =>
      verifyResult(rec, opts, rec.pkg === 'flip' && night === 8 ? 'different' : 'reproducible');
    const config = reportAuditConfig(dir);
    const deps = { store, verify, env: { imageId: () => 'sha256:img1' } };
    for (night = 1; night <= 15; night++) {
      const units = [unit('steady'), unit('flip'), ...(night % 2 ? [unit('gap')] : [])];
      const out = await runAudit(units, [], { ...config, recheck: true }, deps);
      expect(out.auditId).toBe(night);
      await writeMorningReport(store, dir, out);
    }
    // the unchanged audit: everything skipped, the strips as the 15 nights left them
    const out = await runAudit([unit('steady'), unit('flip'), unit('gap')], [], config, deps);
    const run = await writeMorningReport(store, dir, out);
    expect(run.summary.counts.skipped).toBe(3);
    return run;
  } finally {
    await store.close();
  }
}

const strip = (label: string, cells: string) =>
  `<span class="strip" role="img" title="${label}" aria-label="${label}">${cells}</span>`;

describe('verdict strips after many nights', () => {
  it('HTML: one element per strip naming each night by audit and verdict; each audit once, with its time', async () => {
    const run = await fifteenNights();
    const html = await readFile(run.reports.html, 'utf8');
    const steady = strip(
      '14 nights, oldest first: #2–#15 reproducible',
      '<b class="st-ok">RRRRRRRRRRRRRR</b>',
    );
    expect(html).toContain(steady);
    expect(html).toContain(
      strip(
        '14 nights, oldest first: #2–#7 reproducible; #8 different; #9–#15 reproducible',
        '<b class="st-ok">RRRRRR</b><b class="st-bad">D</b><b class="st-ok">RRRRRRR</b>',
      ),
    );
    expect(html).toContain(
      strip(
        '8 nights, oldest first: #1, #3, #5, #7, #9, #11, #13, #15 reproducible',
        '<b class="st-ok">RRRRRRRR</b>',
      ),
    );
    // a strip is one element with one letter per night, whatever their number
    expect(html.match(/<span class="strip"/g)?.length).toBe(3);
    expect(steady.length).toBeLessThan(200);
    // each audit the strips name, once, with its time: #1–#15 (not #16, which verified nothing)
    const legend = html.slice(
      html.indexOf("The strips' nights, by audit"),
      html.indexOf('</ul>', html.indexOf("The strips' nights")),
    );
    const listed = [...legend.matchAll(/<li>#(\d+): <time datetime="([^"]+)"/g)];
    expect(listed.map((m) => Number(m[1]))).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    // the time shown for an audit is that of a verification the strips show
    const times = new Set(run.summary.packages.flatMap((p) => p.nights.map((n) => `${n.auditId} ${n.at}`)));
    for (const m of listed) expect(times.has(`${m[1]} ${m[2]}`), `audit #${m[1]}`).toBe(true);
  });

  it('Markdown keeps a letter per night; summary.json is the summary, one package per line', async () => {
    const run = await fifteenNights();
    const md = await readFile(run.reports.markdown, 'utf8');
    expect(md).toMatch(/^\| `steady` \|.*\| `RRRRRRRRRRRRRR` \|/m);
    expect(md).toMatch(/^\| `flip` \|.*\| `RRRRRRDRRRRRRR` \|/m);
    const text = await readFile(run.reports.json, 'utf8');
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(run.summary)));
    const lines = text.split('\n').filter((l) => l.startsWith('    {"unit":'));
    expect(lines.length).toBe(3);
    for (const l of lines) {
      const p = JSON.parse(l.replace(/,$/, '')) as { nights: unknown[] };
      expect(p.nights.length).toBeGreaterThanOrEqual(8);
    }
    expect(text.endsWith('}\n')).toBe(true);
  });

  it('names nights without an audit by their time, and escapes verdicts it does not know', () => {
    expect(
      verdictStripHtml(
        [
          { at: '2026-11-20T03:00:00Z', verdict: 'reproducible' },
          { at: '2026-11-21T03:00:00Z', verdict: '<img src=x>', auditId: 7 },
        ],
        (iso) => iso.slice(0, 10),
      ),
    ).toBe(
      strip(
        '2 nights, oldest first: 2026-11-20 reproducible; #7 &lt;img src=x&gt;',
        '<b class="st-ok">R</b><b class="st-dim">?</b>',
      ),
    );
  });
});
