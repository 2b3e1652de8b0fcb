import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuild } from '../helpers/cli.js';

/**
 * Hostile inputs that are not containers: each must end with one clear
 * error and an exit code, never a hang, a crash or a half-written file.
 * (Each `timeoutMs` only catches a hang; these commands take a second.)
 */
let dir: string;
let fifo: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-escape-inputs-'));
  fifo = join(dir, 'fifo');
  await execa('mkfifo', [fifo]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const hang = { timeoutMs: 60_000, env: { DOCKER_HOST: 'unix:///nonexistent/rebuild-test.sock' } };

// Generous bounds that only catch a hang: the machine is shared and each command starts a Node process.
describe('hostile inputs end cleanly', { timeout: 120_000 }, () => {
  it('a recipe, --expect or compare operand that is a FIFO or a device is refused, not read', async () => {
    // Expected: exit 3 naming the file as not a regular file; no hang (the open is non-blocking).
    const recipe = await rebuild(['build', fifo, '--arch', 'x86_64'], hang);
    expect(recipe.exitCode, recipe.stderr).toBe(3);
    expect(recipe.stderr).toMatch(/is not a regular file/);
    for (const expect_ of [fifo, '/dev/zero']) {
      const r = await rebuild(
        [
          'build',
          'examples/tally-container/SBUILD',
          '--arch',
          'x86_64',
          '--expect',
          expect_,
          '--out',
          join(dir, 'o'),
        ],
        hang,
      );
      expect(r.exitCode, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/is not a regular file/);
      expect(r.stderr).not.toMatch(/undefined/);
    }
    const cmp = await rebuild(['compare', fifo, '/bin/true'], hang);
    expect(cmp.exitCode, cmp.stderr).toBe(3);
    expect(cmp.stderr).toMatch(/not a regular file/);
    expect(await readdir(dir)).toEqual(['fifo']);
  });

  it('a YAML alias bomb stops at the alias limit', async () => {
    // Expected: exit 3 "expands past … aliases" within a second, instead of minutes and gigabytes.
    const lines = ['#!/SBUILD', '_disabled: false', 'pkg: bomb', 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i <= 12; i++) {
      lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
    }
    lines.push('x_exec: {shell: bash, run: "true"}', 'description: *a12', '');
    const bomb = join(dir, 'bomb.SBUILD');
    await writeFile(bomb, lines.join('\n'));
    const r = await rebuild(['build', bomb, '--arch', 'x86_64'], hang);
    await rm(bomb);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/expands past/);
  });

  it('limits the engine could not honour are usage errors', async () => {
    // Expected: exit 3 naming the option; --memory 1e9 (GiB) is more than any host has.
    for (const [flag, value] of [
      ['--memory', '1e9'],
      ['--memory', '0'],
      ['--cpus', '0.5'],
      ['--cpus', '100000'],
      ['--timeout', 'Infinity'],
    ] as const) {
      const r = await rebuild(['build', 'examples/tally-container/SBUILD', flag, value], hang);
      expect(r.exitCode, `${flag} ${value}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toContain(flag);
    }
  });
});
