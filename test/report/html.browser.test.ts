/**
 * The HTML report in a real browser: Debian's headless chromium renders it,
 * we read back the DOM (--dump-dom), a screenshot, and the network log. A
 * control page with a live <script> and an <img> proves that this set-up
 * would catch script execution and page requests, so the checks on the
 * report can fail.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBuildHtml, renderHtml } from '../../src/report/index.js';
import { different, equivalentPostProcessing, HOSTILE_URL } from './comparisons.js';

const CHROMIUM = '/usr/bin/chromium';

let dir: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: the HTML report tests need Debian's chromium. Install it with ` +
        '`sudo bash scripts/setup-engine.sh --with-test-tools` (or `apt-get install chromium`).',
    );
  }
  dir = await mkdtemp(join(tmpdir(), 'rebuild-report-browser-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Run {
  stdout: string;
  /** URLs the page itself requested (browser background requests excluded). */
  pageRequests: string[];
}

/** One headless chromium run with a fresh profile and a network log. */
async function chromium(file: string, extra: string[]): Promise<Run> {
  const profile = await mkdtemp(join(dir, 'profile-'));
  const netlog = join(profile, 'netlog.json');
  try {
    const r = await execa(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        `--log-net-log=${netlog}`,
        ...extra,
        pathToFileURL(file).href,
      ],
      { timeout: 90_000, reject: false, stdin: 'ignore' },
    );
    if (r.exitCode !== 0) throw new Error(`chromium exited with ${r.exitCode}: ${r.stderr.slice(-2000)}`);
    return { stdout: r.stdout, pageRequests: pageRequests(await readFile(netlog, 'utf8')) };
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/**
 * Requests started on behalf of a page: their initiator is an origin (a
 * file:// page's is "null"); the browser's own update/account pings carry
 * "not an origin".
 */
function pageRequests(netlogText: string): string[] {
  let log: {
    constants: { logEventTypes: Record<string, number> };
    events: Array<{ type: number; params?: Record<string, unknown> }>;
  };
  try {
    log = JSON.parse(netlogText);
  } catch {
    log = JSON.parse(`${netlogText.replace(/,\s*$/, '')}]}`); // chromium may leave the log unterminated
  }
  const start = log.constants.logEventTypes.URL_REQUEST_START_JOB;
  expect(start, 'netlog has URL_REQUEST_START_JOB events defined').toBeTypeOf('number');
  return log.events
    .filter(
      (e) => e.type === start && typeof e.params?.url === 'string' && e.params.initiator !== 'not an origin',
    )
    .map((e) => String(e.params?.url));
}

describe('HTML report in headless chromium', () => {
  it('control: this set-up does run page scripts and does see page requests', async () => {
    const file = join(dir, 'control.html');
    await writeFile(
      file,
      '<!DOCTYPE html><html><head><title>clean</title></head><body>' +
        '<script>document.title=\'pwned\'</script><img src="http://127.0.0.1:9/beacon.png"></body></html>',
    );
    const run = await chromium(file, ['--dump-dom']);
    expect(run.stdout).toContain('<title>pwned</title>');
    expect(run.pageRequests).toContain('http://127.0.0.1:9/beacon.png');
  });

  it('renders the verdict and the tables, executes nothing from the data, requests nothing', async () => {
    const file = join(dir, 'different.html');
    await writeFile(file, renderHtml(different()));
    const run = await chromium(file, ['--dump-dom']);
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
      const run = await chromium(file, [`--screenshot=${png}`, '--window-size=1200,1600', ...flags]);
      const st = await stat(png);
      expect(st.size, name).toBeGreaterThan(20_000);
      const head = (await readFile(png)).subarray(0, 8);
      expect(head.toString('hex')).toBe('89504e470d0a1a0a');
      expect(run.pageRequests, name).toEqual([]);
    }
  });
});
