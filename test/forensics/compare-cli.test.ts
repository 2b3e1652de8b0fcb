import { appendFile, copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { gcc, pkgforgeStrip, SOURCE } from './fixtures.js';

let dir: string;
let base: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-compare-cli-'));
  base = await gcc(join(dir, 'src'), join(dir, 'base'), SOURCE);
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  const before = process.exitCode;
  try {
    process.exitCode = undefined;
    const code = await main(['node', 'rebuild', 'compare', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = before;
  }
}

describe('rebuild compare', () => {
  it('exit 0 for identical files, JSON on stdout', async () => {
    await copyFile(base, join(dir, 'copy'));
    const r = await run(base, join(dir, 'copy'), '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).verdict).toBe('identical');
  });

  it('exit 1 for equivalent files, and writes Markdown and HTML reports', async () => {
    const stripped = await pkgforgeStrip(base, join(dir, 'stripped'));
    const md = join(dir, 'report.md');
    const html = join(dir, 'report.html');
    const r = await run(stripped, base, '--markdown', md, '--html', html);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/EQUIVALENT/);
    expect((await stat(md)).size).toBeGreaterThan(0);
    expect(await readFile(html, 'utf8')).toMatch(/<html/i);
  });

  it('exit 2 for different files', async () => {
    await copyFile(base, join(dir, 'appended'));
    await appendFile(join(dir, 'appended'), 'x');
    const r = await run(base, join(dir, 'appended'), '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out).differences[0].region).toBe('trailing');
  });

  it('exit 3 with a one-line message naming the file, no stack trace', async () => {
    const missing = join(dir, 'missing');
    const r = await run(base, missing);
    expect(r.code).toBe(3);
    expect(r.err).toContain(missing);
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});
