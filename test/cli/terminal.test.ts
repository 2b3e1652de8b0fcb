/**
 * The terminal conventions as a user meets them: the compiled CLI in a real
 * pseudo-terminal (util-linux `script`) at 80 and 160 columns, with and
 * without NO_COLOR; FORCE_COLOR into a pipe; every help text.
 */
import { describe, expect, it } from 'vitest';
import { EXIT_CODES, ExitCode } from '../../src/cli/exit-codes.js';
import { colorWanted, columnsOf } from '../../src/cli/terminal.js';
import { rebuild } from '../helpers/cli.js';
import { inPty } from '../helpers/pty.js';

const ESC = '\x1b[';
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

describe('colour and width decisions', () => {
  it('NO_COLOR wins, FORCE_COLOR forces, a TTY decides otherwise', () => {
    expect(colorWanted({ isTTY: true }, {})).toBe(true);
    expect(colorWanted({ isTTY: false }, {})).toBe(false);
    expect(colorWanted({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colorWanted({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(colorWanted({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorWanted({ isTTY: true }, { FORCE_COLOR: '0' })).toBe(false);
    expect(colorWanted({ isTTY: true }, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(false);
    expect(colorWanted({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
  });

  it('a terminal that reports 0 columns gets 80', () => {
    expect(columnsOf({ isTTY: true, columns: 0 }, {})).toBe(80);
    expect(columnsOf({ isTTY: true, columns: 132 }, {})).toBe(132);
    expect(columnsOf({ isTTY: false }, { COLUMNS: '120' })).toBe(120);
    expect(columnsOf({ isTTY: false }, {})).toBe(80);
  });

  it('the exit-code table has one row per code, in one module', () => {
    for (const [name, row] of Object.entries(EXIT_CODES)) {
      expect(row.code).toBe(ExitCode[name as keyof typeof ExitCode]);
    }
    const codes = Object.values(EXIT_CODES).map((r) => r.code);
    expect(new Set(codes).size).toBe(codes.length);
  });
});

describe('rebuild compare in a pseudo-terminal', () => {
  for (const cols of [80, 160]) {
    it(`fits ${cols} columns, in colour, and without colour under NO_COLOR`, async () => {
      const coloured = await inPty(['compare', '/usr/bin/ls', '/usr/bin/cat'], cols);
      expect(coloured.code).toBe(ExitCode.different);
      expect(coloured.out).toContain(ESC);
      const plain = await inPty(['compare', '/usr/bin/ls', '/usr/bin/cat'], cols, { NO_COLOR: '1' });
      expect(plain.code).toBe(ExitCode.different);
      expect(plain.out).not.toContain('\x1b');
      // the same text either way, and every line fits the terminal
      for (const out of [stripAnsi(coloured.out), plain.out]) {
        const lines = out.split('\n');
        const over = lines.filter((l) => [...l].length > cols);
        expect(over, over.join('\n')).toEqual([]);
        expect(lines[0]).toMatch(/^DIFFERENT — code or data differs: entry point, \d+ program headers/);
        expect(out).toContain('Byte map');
      }
      if (cols === 160)
        expect(plain.out).toMatch(/a \(published\) {20,}b \(rebuilt\)/); // hex side by side
      else expect(plain.out).toMatch(/\n\s+0000[0-9a-f]{4} a [0-9a-f]{2} /); // hex one above the other
      expect(plain.out).toMatch(/\^\^/); // changed bytes pointed at without colour
    }, 240_000);
  }

  it('FORCE_COLOR colours even into a pipe; NO_COLOR beats it', async () => {
    const forced = await rebuild(['compare', '/usr/bin/ls', '/usr/bin/cat'], { env: { FORCE_COLOR: '1' } });
    expect(forced.stdout).toContain(ESC);
    const both = await rebuild(['compare', '/usr/bin/ls', '/usr/bin/cat'], {
      env: { FORCE_COLOR: '1', NO_COLOR: '1' },
    });
    expect(both.stdout).not.toContain('\x1b');
  }, 120_000);
});

describe('outputs and errors', () => {
  it('--markdown - writes to stdout, several formats at once, two on stdout refused', async () => {
    const md = await rebuild(['compare', '/usr/bin/ls', '/usr/bin/cat', '--markdown', '-']);
    expect(md.stdout).toMatch(/^# DIFFERENT/);
    const two = await rebuild(['compare', '/usr/bin/ls', '/usr/bin/cat', '--json', '--markdown', '-']);
    expect(two.exitCode).toBe(ExitCode.input);
    expect(two.stderr).toMatch(/only one output can go to stdout[\s\S]*fix: /);
  }, 120_000);

  it('a missing file: a fix line, and a JSON error object on stdout with --json', async () => {
    const r = await rebuild(['compare', '/nonexistent-a', '/usr/bin/ls', '--json']);
    expect(r.exitCode).toBe(ExitCode.input);
    expect(r.stderr).toMatch(/nonexistent-a[\s\S]*\n\s+fix: \S/);
    const doc = JSON.parse(r.stdout);
    expect(doc.error).toMatchObject({ category: 'input', exitCode: 3, subject: '/nonexistent-a' });
  }, 60_000);
});

describe('help texts', () => {
  const commands = [
    'build',
    'verify',
    'compare',
    'search',
    'info',
    'audit',
    'history',
    'replay',
    'inspect',
    'log',
    'config',
  ];
  it('every command: no `(default: {})`, one default per option, lower-case descriptions, same --arch wording', async () => {
    const top = await rebuild(['--help']);
    expect(top.stdout).toContain('Exit codes (every command):');
    for (const row of Object.values(EXIT_CODES)) expect(top.stdout).toContain(row.meaning);
    for (const c of commands) {
      const h = await rebuild([c, '--help'], { env: { COLUMNS: '200' } });
      expect(h.exitCode, c).toBe(0);
      expect(h.stdout, c).not.toContain('(default: {})');
      // an option with its wrapped continuation lines joined
      const optionLines = h.stdout
        .replace(/\n {8,}(?=\S)/g, ' ')
        .split('\n')
        .filter((l) => /^ {2}-/.test(l));
      for (const l of optionLines) {
        expect((l.match(/\(default/g) ?? []).length, `${c}: ${l}`).toBeLessThanOrEqual(1);
        const desc = l.replace(/^ {2}\S.*?\s{2,}/, '');
        expect(desc[0], `${c}: ${l}`).toMatch(/[a-z`$"'(]/);
      }
      const arch = optionLines.find((l) => l.includes('--arch <arch>'));
      // history's --arch is a filter (no default); every command that targets one arch says the same
      if (arch && c !== 'history')
        expect(arch, c).toMatch(/target architecture: x86_64 or aarch64 \(default: this machine, \w+\)/);
    }
  }, 240_000);
});
