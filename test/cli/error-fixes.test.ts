import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonError } from '../../src/cli/action.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { reportWriteFix } from '../../src/cli/outputs.js';
import { RebuildError } from '../../src/util/errors.js';
import { rebuild } from '../helpers/cli.js';

describe('fix lines that fit the cause', () => {
  it('an interrupt says to run the command again, not to read a placeholder help', () => {
    const fix = jsonError(new RebuildError('interrupted', 'interrupted; the container was removed')).error
      .fix;
    expect(fix).not.toContain('<command>');
    expect(fix).toMatch(/run the same command again/);
  });

  it('a directory where a file is wanted: the fix says so (no placeholder help)', async () => {
    const r = await rebuild(['compare', tmpdir(), '/usr/bin/ls']);
    expect(r.exitCode).toBe(ExitCode.input);
    expect(r.stderr).toMatch(/not a regular file\n\s+fix: give the path of a regular file/);
    expect(r.stderr).not.toContain('<command>');
  }, 60_000);

  it('a full or read-only filesystem is named as such', () => {
    expect(reportWriteFix('ENOSPC')).toMatch(/free space/);
    expect(reportWriteFix('EROFS')).toMatch(/read-only/);
  });

  it('a report into a directory that does not exist: the file named, the fix says create it, nothing written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rebuild-fix-'));
    const target = join(dir, 'missing', 'r.html');
    const r = await rebuild(['compare', '/usr/bin/ls', '/usr/bin/cat', '--html', target]);
    expect(r.exitCode).toBe(ExitCode.input);
    expect(r.stderr).toContain(target);
    expect(r.stderr).toMatch(/fix: create the directory first/);
    expect(readdirSync(dir)).toEqual([]);
  }, 120_000);
});

describe('stdout by its device name', () => {
  it('--json /dev/stdout is --json -: one JSON document on stdout, no text report after it', async () => {
    const r = await rebuild(['compare', '/usr/bin/ls', '/usr/bin/cat', '--json', '/dev/stdout']);
    expect(r.exitCode).toBe(ExitCode.different);
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'different' });
  }, 120_000);

  it("a usage error (a bad option value) reads like rebuild's own errors and ends with a fix", async () => {
    const r = await rebuild(['compare', '/usr/bin/ls', '/usr/bin/cat', '--max-diff-lines', 'many']);
    expect(r.exitCode).toBe(ExitCode.input);
    expect(r.stderr).toMatch(/^rebuild: .*--max-diff-lines/m);
    expect(r.stderr).toMatch(/\n\s+fix: run the command with --help/);
    expect(r.stderr).not.toMatch(/^error: /m);
  }, 60_000);
});
