/** The morning report's content: order of changes, counts, exit code, escaping in Markdown and text. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { itemLine } from '../../src/audit/console.js';
import { historyEntries, renderHistoryText } from '../../src/audit/history.js';
import { renderAuditHtml, renderAuditMarkdown, renderAuditText } from '../../src/audit/report.js';
import { auditExitCode, ExitCode } from '../../src/cli/exit-codes.js';
import { tempDir } from './fixtures.js';
import { EVIL_PKG, EVIL_VERSION, twoAudits } from './report-data.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

describe('audit summary', () => {
  it('lists regressions first, then integrity failures, then fixes; counts verdicts; exit 10', async () => {
    const { summary: s } = await twoAudits(dir);
    expect(s.changes.map((c) => [c.pkg, c.change])).toEqual([
      ['a', 'regression'],
      [EVIL_PKG, 'upstream-integrity'],
      ['b', 'fixed'],
    ]);
    expect(s.changes[0]!.previous).toEqual({ verdict: 'reproducible', version: '1.0.0' });
    expect(s.counts).toMatchObject({ selected: 4, verified: 4, unresolved: 1 });
    expect(s.counts.verdicts).toMatchObject({
      reproducible: 1,
      equivalent: 1,
      different: 1,
      'upstream-integrity': 1,
    });
    expect(s.exit.code).toBe(ExitCode.auditRegressed);
    expect(s.packages.find((p) => p.pkg === 'c')?.change).toBe('first');
    // links are relative to the report directory and point into packages/
    expect(s.packages.find((p) => p.pkg === 'a')?.report.html).toBe(
      'packages/x86_64/bincache/example.invalid.a/a/report.html',
    );
    // a package whose bytes differ links its forensic report too
    expect(s.packages.find((p) => p.pkg === 'a')?.report.forensic).toBe(
      'packages/x86_64/bincache/example.invalid.a/a/build/compare/a.html',
    );
    expect(s.packages.find((p) => p.pkg === 'c')?.report.forensic).toBeUndefined();
    const evil = s.packages.find((p) => p.pkg === EVIL_PKG)!;
    expect(evil.report.html).not.toMatch(/[<>"' ]/);
  });

  it('exit codes: 0 nothing worse, 10 worse, 11 only new failures', async () => {
    const line = (change: string) => ({ change }) as never;
    expect(auditExitCode([]).code).toBe(0);
    expect(auditExitCode([line('fixed'), line('new-version')]).code).toBe(0);
    expect(auditExitCode([line('now-fails')]).code).toBe(ExitCode.auditNewFailures);
    expect(auditExitCode([line('now-fails'), line('new-different')]).code).toBe(ExitCode.auditRegressed);
    expect(auditExitCode([line('upstream-integrity')]).code).toBe(ExitCode.auditRegressed);
  });

  it('Markdown: payloads in names and versions cannot break tables, code spans or links', async () => {
    const { summary } = await twoAudits(dir);
    const md = renderAuditMarkdown(summary);
    // outside code spans (where GFM shows text as is) no raw HTML and no link but ours
    const prose = md.replace(/(`+)[\s\S]*?\1/g, '');
    expect(md).toContain('<script>'); // inside a code span
    expect(prose).not.toMatch(/<script|<b>|<img/);
    expect(prose).not.toMatch(/(?<!\\)\]\(javascript:/);
    expect(prose.match(/(?<!\\)\]\(/g)?.length).toBe(3 + 4 + 2 + 1); // the changes' and the packages' report links, a's forensic report twice, the previous night's
    // every table row has as many cells as its header
    const tables = md.split('\n\n').filter((b) => b.startsWith('| '));
    expect(tables.length).toBe(3);
    for (const t of tables) {
      const rows = t.split('\n');
      const cells = (r: string) => r.replace(/\\\|/g, '').split('|').length;
      for (const r of rows) expect(cells(r), r).toBe(cells(rows[0]!));
    }
    expect(md.indexOf('**REGRESSION**')).toBeLessThan(md.indexOf('## Packages'));
    expect(md).toContain('(packages/x86_64/bincache/example.invalid.a/a/report.html)');
  });

  it('console text and per-package lines show names with control characters made visible', async () => {
    const { summary, reportDir } = await twoAudits(dir);
    const text = renderAuditText(summary, reportDir);
    expect(text).toMatch(/^rebuild audit #2: GOT WORSE/);
    expect(text).toMatch(
      /REGRESSION\s+a \(x86_64, bincache\): was reproducible at 1\.0\.0, now different at 1\.0\.0/,
    );
    expect(text).toContain(`exit ${ExitCode.auditRegressed}`);
    expect(EVIL_VERSION).toContain('"');
    const line = itemLine(
      {
        unit: 'u',
        repo: 'bincache',
        pkg: 'x\u001b[31mred',
        pkgId: 'x',
        arch: 'x86_64',
        version: '1',
        status: 'skipped',
        detail: '',
      },
      1,
      10,
    );
    expect(line).not.toContain('\u001b');
    expect(line).toContain('\\x1b');
  });

  it('strips of the last nights, local times with the zone and how long ago, a link to the previous night', async () => {
    const { summary, reportDir } = await twoAudits(dir);
    const a = summary.packages.find((p) => p.pkg === 'a')!;
    expect(a.nights.map((n) => [n.auditId, n.verdict])).toEqual([
      [1, 'reproducible'],
      [2, 'different'],
    ]);
    expect(summary.packages.find((p) => p.pkg === 'c')!.nights.map((n) => n.verdict)).toEqual([
      'reproducible',
    ]);
    // the previous night's report is linked relative to this one, and is there
    expect(summary.previous).toMatchObject({ id: 1, status: 'finished', report: '../audit-1/report.html' });
    expect(existsSync(join(reportDir, summary.previous!.report!))).toBe(true);

    const t = {
      now: new Date(Date.parse(summary.audit.finishedAt) + 2 * 3600_000),
      timeZone: 'Europe/Berlin',
    };
    const md = renderAuditMarkdown(summary, t);
    expect(md).toMatch(/\*\*Started:\*\* \d{4}-\d\d-\d\d \d\d:\d\d GMT\+1 \(2 h ago\)/);
    expect(md).not.toContain(summary.audit.startedAt);
    expect(md).toMatch(
      /\*\*Previous audit:\*\* \[\\#1, finished \d{4}-\d\d-\d\d \d\d:\d\d GMT\+1 \(2 h ago\)\]\(\.\.\/audit-1\/report\.html\)/,
    );
    const aRow = md.split('\n').find((l) => l.startsWith('| `a` |') && l.includes('| different |'))!;
    expect(aRow).toContain('| `RD` |');
    expect(md).toContain('Last nights, oldest first: R reproducible, E equivalent, D different');

    const html = renderAuditHtml(summary, t);
    // a's strip: one cell per night, each named by its audit and verdict in the label
    expect(html).toContain(
      '<span class="strip" role="img" title="2 nights, oldest first: #1 reproducible; #2 different" aria-label="2 nights, oldest first: #1 reproducible; #2 different"><b class="st-ok">R</b><b class="st-bad">D</b></span>',
    );
    // one strip per package row and per change row
    expect(html.match(/<span class="strip"/g)?.length).toBe(4 + 3);
    // and each audit the strips name, once, with its time as the rest of the report writes it
    const legend = html.slice(html.indexOf("The strips' nights, by audit"));
    expect(legend.match(/<li>#\d+: <time /g)?.length).toBe(2);
    expect(legend).toMatch(
      /<li>#1: <time datetime="[^"]+Z" title="[^"]+Z">\d{4}-\d\d-\d\d \d\d:\d\d GMT\+1 \(2 h ago\)<\/time><\/li>/,
    );
    expect(html).toContain('<a href="../audit-1/report.html" rel="prev">#1, finished <time');
    expect(html).toMatch(
      /<time datetime="[^"]+Z" title="[^"]+Z">\d{4}-\d\d-\d\d \d\d:\d\d GMT\+1 \(2 h ago\)<\/time>/,
    );

    const text = renderAuditText(summary, reportDir, t);
    expect(text).toMatch(/REGRESSION\s+a \(x86_64, bincache\): .* \[last nights: RD\]/);
    expect(text).toMatch(/^started \d{4}-\d\d-\d\d \d\d:\d\d GMT\+1 \(2 h ago\), finished /m);
    expect(text).toContain(`previous: audit #1, finished `);
    expect(text).toContain(join(reportDir, '../audit-1/report.html'));
  });

  it('an interrupted audit exits 130 whatever changed', () => {
    const line = (change: string) => ({ change }) as never;
    expect(auditExitCode([line('regression')], true)).toMatchObject({ code: ExitCode.interrupted });
  });

  it('history: one block per package and arch, oldest first', async () => {
    await twoAudits(dir);
    const { AuditStore } = await import('../../src/audit/store.js');
    const store = await AuditStore.open(`${dir}/audit.db`);
    const h = await store.history('a');
    await store.close();
    expect(historyEntries(h).map((e) => [e.auditId, e.verdict, e.change])).toEqual([
      [1, 'reproducible', 'first'],
      [2, 'different', 'regression'],
    ]);
    const text = renderHistoryText(h);
    expect(text).toContain('bincache/example.invalid.a/a@x86_64');
    expect(text.indexOf('reproducible')).toBeLessThan(text.indexOf('regression'));
    // times are local, with the zone, like the morning report's
    const finished = new Date(h[0]!.finishedAt);
    const berlin = renderHistoryText(h, 'Europe/Berlin');
    const hh = new Intl.DateTimeFormat('en-GB', {
      hour: '2-digit',
      hourCycle: 'h23',
      timeZone: 'Europe/Berlin',
    }).format(finished);
    expect(berlin).toMatch(new RegExp(`\\d{4}-\\d{2}-\\d{2} ${hh}:\\d{2} GMT\\+[12] `));
    expect(renderHistoryText(h, 'UTC')).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC /);
    // and how long ago, as the morning report says it
    expect(text).toMatch(/UTC\s+just now\s+#1|just now\s+#1/);
    const later = new Date(finished.getTime() + 3 * 3600_000 + 60_000);
    expect(renderHistoryText(h, 'UTC', later)).toMatch(/ 3 h ago\s+#1 /);
  });
});
