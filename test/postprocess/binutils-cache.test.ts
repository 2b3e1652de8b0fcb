import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { supportsTargets } from '../../src/postprocess/binutils.js';
import { askObjcopy } from '../../src/postprocess/binutils-cache.js';

let dir: string;
const saved = process.env.XDG_CACHE_HOME;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-binutils-cache-'));
  process.env.XDG_CACHE_HOME = dir;
});
afterAll(async () => {
  if (saved === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = saved;
  await rm(dir, { recursive: true, force: true });
});

describe("objcopy's answers, remembered across runs", () => {
  const file = () => join(dir, 'rebuild', 'binutils.json');

  it('asks the real objcopy once, then answers the same from the cache file', async () => {
    const asked = await askObjcopy('/usr/bin/objcopy');
    expect(asked.version).toMatch(/^GNU objcopy/);
    expect(supportsTargets(asked.help, ['elf64-x86-64'])).toBe(true);
    const doc = JSON.parse(await readFile(file(), 'utf8')) as Record<string, { help: string }>;
    const [key] = Object.keys(doc);
    expect(key?.startsWith('/usr/bin/objcopy\0')).toBe(true);
    // Prove the second answer comes from the file: mark the remembered version.
    doc[key!] = { ...doc[key!]!, version: `${asked.version} (remembered)` } as never;
    await writeFile(file(), JSON.stringify(doc));
    const again = await askObjcopy('/usr/bin/objcopy');
    expect(again.version).toBe(`${asked.version} (remembered)`);
    expect(supportsTargets(again.help, ['elf64-x86-64'])).toBe(true);
  });

  it('asks again when the cache file is malformed, and when the tool is missing remembers nothing', async () => {
    await writeFile(file(), '{not json');
    expect((await askObjcopy('/usr/bin/objcopy')).version).toMatch(/^GNU objcopy (.*\d)$/);
    const missing = await askObjcopy(join(dir, 'no-such-objcopy'));
    expect(missing.version).toBe('');
    expect(await readFile(file(), 'utf8')).not.toContain('no-such-objcopy');
  });
});
