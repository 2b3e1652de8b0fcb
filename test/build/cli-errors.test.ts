import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuild } from '../helpers/cli.js';

/** What a user sees when the environment or the input is wrong: one clear message, the fix, an exit code. */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-cli-errors-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('rebuild build: errors before anything runs', () => {
  it('says how to start the engine when none answers (exit 5), and writes nothing', async () => {
    const out = join(dir, 'out');
    const r = await rebuild(['build', 'examples/tally-container/SBUILD', '--out', out], {
      env: { DOCKER_HOST: `unix://${join(dir, 'no-engine.sock')}` },
    });
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toMatch(/no Docker engine answers/);
    expect(r.stderr).toMatch(/fix: .*scripts\/setup-engine\.sh/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    await expect(stat(out)).rejects.toThrow();
  });

  it('refuses to replace a directory that is not a rebuild output (exit 3)', async () => {
    const out = join(dir, 'precious');
    await rm(out, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(out));
    await writeFile(join(out, 'thesis.tex'), 'do not delete');
    const r = await rebuild(['build', 'examples/tally-container/SBUILD', '--out', out]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/refusing to replace it/);
    expect((await stat(join(out, 'thesis.tex'))).size).toBe(13);
  });

  it('validates options (exit 3)', async () => {
    const r1 = await rebuild(['build', 'examples/tally-container/SBUILD', '--arch', 'sparc']);
    expect(r1.exitCode).toBe(3);
    expect(r1.stderr).toMatch(/must be x86_64 or aarch64/);
    const r2 = await rebuild(['build', 'examples/tally-container/SBUILD', '--expect-bsum', 'xyz']);
    expect(r2.exitCode).toBe(3);
    expect(r2.stderr).toMatch(/--expect-bsum needs a 64-digit hex checksum/);
    const r3 = await rebuild(['build', join(dir, 'missing.SBUILD')]);
    expect(r3.exitCode).toBe(3);
    expect(r3.stderr).toContain('missing.SBUILD');
  });

  it('names the line of a bad CHECKSUM file (exit 3)', async () => {
    const bad = join(dir, 'CHECKSUM');
    await writeFile(bad, 'tally:nothex\n');
    const r = await rebuild(['build', 'examples/tally-container/SBUILD', '--expect', bad]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/CHECKSUM: line 1/);
  });
});
