import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { findOnPath, toolVersion } from '../../src/util/tool-version.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'rebuild-tool-version-'));
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await rm(tmp, { recursive: true, force: true });
});

/** A tool that prints `version` and counts how often it was started. */
async function fakeTool(dir: string, version: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'faketool');
  await writeFile(path, `#!/bin/sh\necho x >> "${join(tmp, 'calls')}"\necho "faketool ${version}"\n`);
  await chmod(path, 0o755);
  return path;
}
const calls = async () => (await readFile(join(tmp, 'calls'), 'utf8').catch(() => '')).split('\n').length - 1;

describe('toolVersion', () => {
  it('asks the tool once while its file is unchanged, and again once it is replaced', async () => {
    const bin = join(tmp, 'bin');
    const tool = await fakeTool(bin, '1.0');
    vi.stubEnv('PATH', `${join(tmp, 'nothing-here')}:${bin}`);
    expect(await findOnPath('faketool')).toBe(tool);
    const cache = join(tmp, 'cache', 'faketool.json');
    expect(await toolVersion('faketool', cache)).toBe('faketool 1.0');
    expect(await toolVersion('faketool', cache)).toBe('faketool 1.0');
    expect(await calls()).toBe(1);
    // An upgrade: the same path, other bytes (a new change time, here a new size too).
    await fakeTool(bin, '2.0.1');
    expect(await toolVersion('faketool', cache)).toBe('faketool 2.0.1');
    expect(await calls()).toBe(2);
    // A cache file that names another identity (or is not JSON) is not believed.
    await writeFile(cache, JSON.stringify({ identity: 'elsewhere', version: 'forged' }));
    expect(await toolVersion('faketool', cache)).toBe('faketool 2.0.1');
    await writeFile(cache, '{');
    expect(await toolVersion('faketool', cache)).toBe('faketool 2.0.1');
    expect(await calls()).toBe(4);
  });

  it('a tool that is not on PATH, or fails, is an error (and nothing is remembered)', async () => {
    vi.stubEnv('PATH', join(tmp, 'empty'));
    await expect(toolVersion('faketool', join(tmp, 'c.json'))).rejects.toThrow(/not on PATH/);
    const bin = join(tmp, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'faketool'), '#!/bin/sh\nexit 3\n', { mode: 0o755 });
    vi.stubEnv('PATH', bin);
    await expect(toolVersion('faketool', join(tmp, 'c.json'))).rejects.toThrow(/exited with code 3/);
    await expect(readFile(join(tmp, 'c.json'))).rejects.toThrow();
  });
});
