import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { BIN, REPO } from '../helpers/cli.js';

/**
 * Runs the real CLI with its stdout a pipe whose reading end is closed
 * before rebuild writes anything (what `rebuild … | head -1` does once head
 * has its line): every write rebuild makes fails with EPIPE.
 */
function runWithClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', [BIN, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('stdout closed early (`rebuild … | head -1`)', () => {
  it.each([
    [['replay', '--help']],
    [['--help']],
    [['compare', '/usr/bin/ls', '/usr/bin/cat', '--json', '-']],
    [['hash', '/usr/bin/ls']],
  ])(
    '%j stops quietly with 141, no stack trace',
    async (args) => {
      const r = await runWithClosedStdout(args);
      expect(r.stderr).not.toMatch(/EPIPE|node:events|Unhandled|at /);
      expect(r.code).toBe(ExitCode.outputClosed);
    },
    120_000,
  );
});
