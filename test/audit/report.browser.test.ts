/**
 * The audit's HTML report in a real browser (Debian's headless chromium, as
 * test/report/html.browser.test.ts does): the DOM as rendered, the page's
 * network requests, and a screenshot. A control page proves that this set-up
 * sees script execution and page requests, so the checks can fail.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderAuditHtml } from '../../src/audit/report.js';
import { chromium, requireChromium } from '../helpers/chromium.js';
import { EVIL_ID, EVIL_PKG, twoAudits } from './report-data.js';

let dir: string;

beforeAll(async () => {
  requireChromium();
  dir = await mkdtemp(join(tmpdir(), 'rebuild-audit-browser-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('audit report in headless chromium', () => {
  it('control: this set-up does run page scripts and does see page requests', async () => {
    const file = join(dir, 'control.html');
    await writeFile(
      file,
      '<!DOCTYPE html><html><head><title>clean</title></head><body>' +
        '<script>document.title=\'pwned\'</script><img src="http://127.0.0.1:9/beacon.png"></body></html>',
    );
    const run = await chromium(file, ['--dump-dom'], dir);
    expect(run.stdout).toContain('<title>pwned</title>');
    expect(run.pageRequests).toContain('http://127.0.0.1:9/beacon.png');
  });

  it('renders changes first, the verdict table and every package; executes nothing; requests nothing', async () => {
    const { summary, reportDir } = await twoAudits(join(dir, 'data'));
    const file = join(reportDir, 'report.html');
    await writeFile(file, renderAuditHtml(summary));
    const run = await chromium(file, ['--dump-dom'], dir);
    const dom = run.stdout;
    expect(dom).toContain('<title>rebuild audit #2: GOT WORSE</title>');
    expect(dom.match(/<table/g)?.length).toBe(3);
    expect(dom.indexOf('REGRESSION')).toBeLessThan(dom.indexOf('<h2>Packages</h2>'));
    expect(dom.indexOf('UPSTREAM INTEGRITY FAILURE')).toBeLessThan(dom.indexOf('<h2>Verdicts</h2>'));
    // header + 4 packages + the unresolved list entry
    const packages = dom.slice(dom.indexOf('<table class="packages">'));
    expect(packages.slice(0, packages.indexOf('</table>')).match(/<tr/g)?.length).toBe(6);
    expect(dom).toContain('ghost is not in the metadata index');
    // the payloads are there as text, and did nothing
    expect(dom).toContain("&lt;script&gt;document.title='pwned'&lt;/script&gt;");
    expect(dom).not.toMatch(/<script/i);
    expect(dom).not.toMatch(/<img/i);
    expect(dom).not.toContain('<b>bold</b>');
    expect(EVIL_PKG).toContain('<script>');
    expect(EVIL_ID).toContain('<img');
    // the links are relative, to the packages' own reports
    const hrefs = [...dom.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1]!);
    expect(hrefs.length).toBeGreaterThanOrEqual(4);
    for (const h of hrefs)
      expect(h).toMatch(
        /^packages\/x86_64\/bincache\/[^:]+\/(report|build\/compare\/[^/:]+)\.html$|^\.\.\/audit-1\/report\.html$/,
      );
    expect(hrefs).toContain('../audit-1/report.html');
    expect(hrefs).toContain('packages/x86_64/bincache/example.invalid.a/a/build/compare/a.html');
    // each package's verdicts over the last nights, as a strip the browser draws
    expect(dom).toContain('aria-label="2 nights, oldest first: #1 reproducible; #2 different"');
    expect(dom.match(/<span class="strip"/g)?.length).toBe(4 + 3);
    expect(run.pageRequests).toEqual([]);
  });

  it('takes a screenshot of a readable page (light and dark)', async () => {
    const { summary, reportDir } = await twoAudits(join(dir, 'shots'));
    const file = join(reportDir, 'report.html');
    await writeFile(file, renderAuditHtml(summary));
    const shots = process.env.REPORT_SCREENSHOT_DIR ?? dir;
    for (const [name, flags] of [
      ['audit', []],
      ['audit-dark', ['--force-dark-mode', '--blink-settings=preferredColorScheme=0']],
    ] as const) {
      const png = join(shots, `report-${name}.png`);
      const run = await chromium(file, [`--screenshot=${png}`, '--window-size=1200,1400', ...flags], dir);
      expect((await stat(png)).size, name).toBeGreaterThan(20_000);
      expect((await readFile(png)).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
      expect(run.pageRequests, name).toEqual([]);
    }
  }, 300_000); // hang bound only: several Chromium runs, each bounded by the helper's 90 s
});
