/**
 * The byte map as a reader sees it: the HTML report of a real comparison
 * (/usr/bin/ls against /usr/bin/cat, and a one-byte change) in headless
 * chromium at 1280 and 390 px. Structural checks: the map is in the DOM, the
 * differing region is drawn in the report's red and links to its detail,
 * and nothing is requested.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../src/forensics/compare.js';
import { renderHtml } from '../../src/report/index.js';
import { chromium, requireChromium } from '../helpers/chromium.js';
import { decodePng } from '../helpers/png.js';

let dir: string;
let html: string;
let html390Control: string;
let contextKind: string | undefined;

beforeAll(async () => {
  requireChromium();
  dir = await mkdtemp(join(tmpdir(), 'rebuild-bytemap-'));
  // One flipped byte in .rodata-ish data near the middle of a real binary.
  const a = join(dir, 'ls');
  const b = join(dir, 'ls-flipped');
  await copyFile('/usr/bin/ls', a);
  const bytes = await readFile(a);
  const at = Math.floor(bytes.length * 0.6);
  bytes[at] = (bytes[at] ?? 0) ^ 0xff;
  await writeFile(b, bytes);
  const c = await compare(a, b);
  contextKind = c.differences[0]?.context?.kind;
  html = renderHtml(c);
  // The same page without the differing marks: the control for "drawn in red".
  html390Control = html.replace(/<a href="#d-\d+">.*?<\/a>/g, '');
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Pixels close to the report's light-scheme red (--bad: #b3261e). */
function redPixels(png: Buffer): { count: number; width: number } {
  const img = decodePng(png);
  let count = 0;
  for (let y = 0; y < img.height; y += 1) {
    for (let x = 0; x < img.width; x += 1) {
      const [r, g, b] = img.rgb(x, y);
      if (Math.abs(r - 0xb3) < 24 && Math.abs(g - 0x26) < 24 && Math.abs(b - 0x1e) < 24) count++;
    }
  }
  return { count, width: img.width };
}

describe('byte map in headless chromium', () => {
  it('is in the page: both files, the differing region marked and linked to its detail', async () => {
    const file = join(dir, 'report.html');
    await writeFile(file, html);
    const run = await chromium(file, ['--dump-dom'], dir);
    const dom = run.stdout;
    expect(dom).toMatch(/<svg class="bytemap"/);
    expect(dom).toContain('a (published) — ');
    expect(dom).toContain('b (rebuilt) — ');
    const links = [
      ...dom.matchAll(/<a href="#(d-\d+)"><title>([^<]*)<\/title><rect[^>]*data-kind="differs"/g),
    ];
    expect(links.length).toBeGreaterThanOrEqual(2); // one per file
    for (const [, id] of links) expect(dom).toContain(`id="${id}"`);
    // readable without colour: patterns and a legend in words
    expect(dom).toContain('fill="url(#p-differs)"');
    expect(dom).toContain('differs (red, hatched)');
    // the flipped byte shows: highlighted in the hex view, or its instruction marked in the disassembly
    if (contextKind === 'hex') expect(dom.match(/<mark class="hx">/g)?.length).toBe(2);
    else {
      expect(contextKind).toBe('disassembly');
      expect(dom).toMatch(/<span class="d-del">&gt; /);
      expect(dom).toMatch(/<span class="d-add">&gt; /);
    }
    expect(run.pageRequests).toEqual([]);
  }, 120_000);

  for (const width of [1280, 390]) {
    it(`at ${width} px: the screenshot is that wide and the differing region is drawn in red`, async () => {
      const file = join(dir, `report-${width}.html`);
      await writeFile(file, html);
      const png = join(process.env.REPORT_SCREENSHOT_DIR ?? dir, `bytemap-${width}.png`);
      const run = await chromium(file, [`--screenshot=${png}`, `--window-size=${width},900`], dir);
      const shot = redPixels(await readFile(png));
      expect(shot.width).toBe(width);
      const control = join(dir, `control-${width}.html`);
      await writeFile(control, html390Control);
      const cpng = join(dir, `control-${width}.png`);
      await chromium(control, [`--screenshot=${cpng}`, `--window-size=${width},900`], dir);
      const without = redPixels(await readFile(cpng));
      // the differing region adds red pixels of its own (hatched red, at least a few pixels wide on both files)
      expect(shot.count - without.count).toBeGreaterThan(10);
      expect(run.pageRequests).toEqual([]);
    }, 120_000);
  }
});
