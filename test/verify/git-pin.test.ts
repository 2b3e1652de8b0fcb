import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';

/** runners/git-pin, the real script, in front of the real git, on a real local repository. */
let dir: string;
let first: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-git-pin-'));
  const src = join(dir, 'src');
  const g = (...args: string[]) => execa('git', args, { cwd: src });
  await mkdir(src);
  await g('init', '-q', '-b', 'master');
  await g('config', 'user.email', 't@example.invalid');
  await g('config', 'user.name', 't');
  await execa(
    'sh',
    ['-c', 'echo one > f && git add f && git commit -qm one && echo two > f && git commit -qam two'],
    { cwd: src },
  );
  first = (await g('rev-parse', '--short', 'HEAD~1')).stdout.trim();
  await mkdir(join(dir, 'bin'));
  await symlink(join(REPO, 'runners', 'git-pin'), join(dir, 'bin', 'git'));
  env = {
    PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
    REBUILD_REAL_GIT: (await execa('sh', ['-c', 'command -v git'])).stdout.trim(),
  };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const clone = (cwd: string, pin: string | undefined, ...args: string[]) =>
  execa('git', ['clone', '-q', ...args], {
    cwd,
    reject: false,
    env: { ...env, ...(pin ? { REBUILD_SOURCE_COMMIT: pin } : {}) },
    extendEnv: true,
  });

describe('runners/git-pin', () => {
  it('checks out the pinned commit after a shallow clone (deepening it)', async () => {
    const r = await clone(dir, first, '--depth', '1', `file://${dir}/src`, 'a');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await readFile(join(dir, 'a', 'f'), 'utf8')).toBe('one\n');
    expect(r.stderr).toMatch(/checked out [0-9a-f]{40} in a/);
  });
  it('finds the directory from the URL when none is given', async () => {
    await mkdir(join(dir, 'b'));
    const r = await clone(join(dir, 'b'), first, '-b', 'master', `file://${dir}/src/`);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await readFile(join(dir, 'b', 'src', 'f'), 'utf8')).toBe('one\n');
  });
  it('leaves git alone without a pin', async () => {
    const r = await clone(dir, undefined, `file://${dir}/src`, 'c');
    expect(r.exitCode).toBe(0);
    expect(await readFile(join(dir, 'c', 'f'), 'utf8')).toBe('two\n');
    expect(r.stderr).toBe('');
  });
  it('fails loudly when the pinned commit does not exist', async () => {
    const r = await clone(dir, 'deadbee', `file://${dir}/src`, 'd');
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/refusing to build the current HEAD/);
  });
});
