import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { jsonError } from '../../src/cli/action.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { reportWriteFix } from '../../src/cli/outputs.js';
import { RebuildError } from '../../src/util/errors.js';
import { BIN, REPO, rebuild } from '../helpers/cli.js';

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

  it('a read-only filesystem is named as such', () => {
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

/**
 * A real full file system: a 4 KiB tmpfs, filled, in a private mount
 * namespace (`unshare`, so nothing is mounted outside this test), and the
 * CLI writing into it. Needs user (or root) namespaces, as on the CI machine.
 */
async function onFullDisk(script: (dir: string) => string) {
  const dir = mkdtempSync(join(tmpdir(), 'rebuild-full-'));
  const sh = `mount -t tmpfs -o size=4k tmpfs '${dir}' && head -c 4096 /dev/zero > '${dir}/fill' 2>/dev/null; ${script(dir)}; echo "rc=$?" >&2; echo "left: $(ls -A '${dir}' | tr '\\n' ' ')" >&2`;
  const r = await execa('unshare', ['--mount', '--map-root-user', 'sh', '-c', sh], {
    reject: false,
    cwd: REPO,
    env: { CI: '1' },
    stdin: 'ignore',
  });
  rmSync(dir, { recursive: true, force: true });
  return { dir, stdout: r.stdout, stderr: r.stderr, shellExit: r.exitCode };
}

describe('a full file system (ENOSPC)', () => {
  it('is an environment failure (exit 5), not bad input: the fix names the directory, nothing is left half-written', async () => {
    const r = await onFullDisk(
      (dir) => `node ${BIN} compare /usr/bin/true /usr/bin/false --html '${dir}/r.html'`,
    );
    expect(r.shellExit, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`rc=${ExitCode.environment}\\b`));
    expect(r.stderr).toContain(`${r.dir}/r.html: cannot write: the file system is full (ENOSPC)`);
    expect(r.stderr).toContain(`fix: free space on the file system that holds ${r.dir} `);
    expect(r.stderr).toMatch(/left: fill\s*$/);
  }, 120_000);

  it('with --json: one JSON error object on stdout (category environment, exit 5), no report before it', async () => {
    const r = await onFullDisk(
      (dir) => `node ${BIN} compare /usr/bin/true /usr/bin/false --json --html '${dir}/r.html'`,
    );
    const doc = JSON.parse(r.stdout) as { error: { category: string; exitCode: number; fix: string } };
    expect(doc.error).toMatchObject({ category: 'environment', exitCode: ExitCode.environment });
    expect(doc.error.fix).toContain(r.dir);
    expect(r.stderr).toMatch(/rc=5\b/);
  }, 120_000);

  it('keygen on a full disk: exit 5 naming the directory, no half-written key left', async () => {
    const r = await onFullDisk((dir) => `node ${BIN} keygen --out '${dir}/k'`);
    expect(r.stderr).toMatch(/rc=5\b/);
    expect(r.stderr).toContain(`fix: free space on the file system that holds ${r.dir} `);
    expect(r.stderr).toMatch(/left: fill\s*$/);
  }, 60_000);
});
