/**
 * Tokens without spaces (paths, digests, artifact references) are pasted by
 * users: the terminal output never splits one at the width, it overflows
 * instead (as diffoscope and git do). The compiled CLI in a real
 * pseudo-terminal at 80 columns, with and without colour, and piped with
 * COLUMNS=80.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { rebuild } from '../helpers/cli.js';
import { inPty } from '../helpers/pty.js';

const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

let root: string;
let a: string;
let b: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'rebuild-long-'));
  // one directory name of 120 characters: the paths are ~170 characters, one token each
  const dir = join(root, 'd'.repeat(120));
  mkdirSync(dir);
  a = join(dir, 'published-true');
  b = join(dir, 'rebuilt-false');
  copyFileSync('/usr/bin/true', a);
  copyFileSync('/usr/bin/false', b);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every line fits `cols`, except lines whose overflow is one of `tokens`, which appear whole. */
function expectWholeTokens(out: string, cols: number, tokens: string[]): void {
  const lines = out.split('\n');
  for (const t of tokens)
    expect(
      lines.some((l) => l.includes(t)),
      `${t} whole on one line`,
    ).toBe(true);
  const over = lines.filter((l) => [...l].length > cols);
  for (const l of over)
    expect(
      tokens.some((t) => l.includes(t)),
      `over ${cols} columns: ${l}`,
    ).toBe(true);
}

describe('long tokens are never split at the terminal width', () => {
  it('rebuild compare in an 80-column pseudo-terminal: each path whole, in colour and under NO_COLOR', async () => {
    for (const env of [{}, { NO_COLOR: '1' }] as Record<string, string>[]) {
      const r = await inPty(['compare', a, b], 80, env);
      expect(r.code).toBe(ExitCode.different);
      expectWholeTokens(stripAnsi(r.out), 80, [a, b]);
      // the SHA-256 digests (64 columns) are whole too
      expect(stripAnsi(r.out)).toMatch(/\b[0-9a-f]{64}\b/);
    }
  }, 240_000);

  it('piped with COLUMNS=80: the same, and the Markdown keeps them whole', async () => {
    const r = await rebuild(['compare', a, b], { env: { COLUMNS: '80' } });
    expect(r.exitCode).toBe(ExitCode.different);
    expectWholeTokens(r.stdout, 80, [a, b]);
    const md = await rebuild(['compare', a, b, '--markdown', '-']);
    expect(md.stdout).toContain(a);
  }, 240_000);

  it('an error line in a pseudo-terminal keeps the path whole, then the fix', async () => {
    const missing = join(root, 'd'.repeat(120), 'no-such-file');
    const r = await inPty(['compare', missing, b], 80, { NO_COLOR: '1' });
    expect(r.code).toBe(ExitCode.input);
    expect(r.out).toContain(missing);
    expect(r.out).toMatch(/\n\s+fix: /);
  }, 120_000);
});
