import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBuildHtml, renderHtml } from '../../src/report/index.js';
import { chromium, requireChromium } from '../helpers/chromium.js';
import { different, equivalentPostProcessing, HOSTILE_URL } from './comparisons.js';

let dir: string;

beforeAll(async () => {
  requireChromium();
  dir = await mkdtemp(join(tmpdir(), 'rebuild-report-browser-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('HTML report in headless chromium', () => {
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

  it('renders the verdict and the tables, executes nothing from the data, requests nothing', async () => {
    const file = join(dir, 'different.html');
    await writeFile(file, renderHtml(different()));
    const run = await chromium(file, ['--dump-dom'], dir);
    const dom = run.stdout;
    expect(dom).toContain('<title>rebuild compare: DIFFERENT</title>');
    expect(dom).toMatch(/<span class="word">DIFFERENT<\/span>/);
    expect(dom.match(/<table/g)?.length).toBe(4);
    for (const s of ['.rodata', '0x1060 (4,192)', different().a.sha256, 'weaker in b', 'Byte accounting'])
      expect(dom).toContain(s);
    // the payloads are there as text, and did nothing
    expect(dom).toContain("&lt;script&gt;document.title='pwned'&lt;/script&gt;");
    expect(dom).toContain('&lt;img src=x onerror=');
    expect(dom).not.toMatch(/<script/i);
    expect(dom).not.toMatch(/<img/i);
    expect(dom).not.toMatch(/<body[^>]*data-pwned/);
    expect(dom).toContain(HOSTILE_URL); // as text
    expect(run.pageRequests).toEqual([]);
  });

  it('takes a screenshot of a readable page (light and dark)', async () => {
    const shots = process.env.REPORT_SCREENSHOT_DIR ?? dir;
    const cases: Array<[string, string, string[]]> = [
      ['different', renderHtml(different()), []],
      [
        'equivalent-dark',
        renderHtml(equivalentPostProcessing()),
        ['--force-dark-mode', '--blink-settings=preferredColorScheme=0'],
      ],
      [
        'build',
        renderBuildHtml({
          recipe: { file: 'examples/hello.yaml', pkg: 'hello' },
          arch: 'x86_64',
          outDir: '/tmp/out',
          status: 'reproducible',
          outputs: [
            { name: 'hello', size: 1000, sha256: 'a'.repeat(64), blake3: 'b'.repeat(64), match: true },
          ],
          inputs: { image: 'debian-builder' },
          durationMs: 1000,
        }),
        [],
      ],
    ];
    for (const [name, html, flags] of cases) {
      const file = join(dir, `${name}.html`);
      const png = join(shots, `report-${name}.png`);
      await writeFile(file, html);
      const run = await chromium(file, [`--screenshot=${png}`, '--window-size=1200,1600', ...flags], dir);
      const st = await stat(png);
      expect(st.size, name).toBeGreaterThan(20_000);
      const head = (await readFile(png)).subarray(0, 8);
      expect(head.toString('hex')).toBe('89504e470d0a1a0a');
      expect(run.pageRequests, name).toEqual([]);
    }
  }, 300_000); // hang bound only: several Chromium runs, each bounded by the helper's 90 s
});
