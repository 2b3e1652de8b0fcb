/**
 * The forensic corpus built with the host's gcc and binutils (x86_64 here):
 * fast, no engine. The same cases run in the real builder images, x86_64 and
 * aarch64 under QEMU, in corpus.engine.test.ts.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../src/forensics/compare.js';
import { type Attack, makeAttacks, parseRuns, RUN_SCRIPT } from './attacks.js';
import {
  BUILD_SCRIPT,
  CORPUS_CASES,
  CORPUS_SOURCES,
  checkCase,
  differingOffsets,
  makePatchedVariants,
  type PatchFacts,
  postProcessingHeaderEffects,
  readSections,
} from './corpus.js';

let dir: string;
let facts: PatchFacts;
let attacks: Attack[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-corpus-host-'));
  await execa('sh', [join(CORPUS_SOURCES, BUILD_SCRIPT), CORPUS_SOURCES, dir]);
  facts = await makePatchedVariants(dir);
  attacks = await makeAttacks(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('corpus construction (host toolchain)', () => {
  it('makes the pairs it claims to make', async () => {
    const base = await readFile(join(dir, 'base'));
    expect((await readFile(join(dir, 'same'))).equals(base)).toBe(true);
    expect((await readFile(join(dir, 'copied'))).equals(base)).toBe(true);
    expect(differingOffsets(base, await readFile(join(dir, 'flip-text')))).toEqual([facts.flipOffset]);
    const text = (await readSections(join(dir, 'base'))).find((s) => s.name === '.text');
    expect(facts.flipOffset).toBeGreaterThanOrEqual(text?.offset ?? Number.POSITIVE_INFINITY);
    expect(facts.entryAfter - facts.entryBefore).toBe(4n);
    const names = (f: string) => readSections(join(dir, f)).then((rows) => rows.map((r) => r.name));
    expect(await names('nocomment')).not.toContain('.comment');
    expect(await names('extra')).toContain('.rebuild.extra');
    expect(await names('addnote')).toContain('.note.rebuild');
    expect(await names('pkgforge')).not.toContain('.symtab');
    expect(await names('strip-debug')).toContain('.symtab');
    const stamp = (f: string) =>
      readFile(join(dir, f), 'latin1').then((s) => /built \w+ +\d+ \d+ [\d:]+/.exec(s)?.[0]);
    expect(await stamp('stamp-1')).not.toBe(await stamp('stamp-2'));
  });
});

describe('binutils side effects (host binutils)', () => {
  it("pkgforge's objcopy empties NOTE/GNU_PROPERTY and drops GNU_RELRO; strip alone keeps GNU_RELRO", async () => {
    const fx = await postProcessingHeaderEffects(dir);
    expect(fx.relroBefore).toBe(1);
    expect(fx.relroAfter).toBe(0);
    expect(fx.relroAfterStripOnly).toBe(1);
    expect(fx.notesBefore).toBeGreaterThan(0);
    expect(fx.notesAfter).toBe(fx.notesBefore);
    expect(fx.nonEmptyNotesAfter).toBe(0);
    expect(fx.headersAfter).toBe(fx.headersBefore - 1);
  });
});

describe('compare() on the corpus (host toolchain)', () => {
  for (const c of CORPUS_CASES) {
    it(c.name, async () => {
      await checkCase(dir, c, compare, expect);
    });
  }
});

describe('red-team corpus (host toolchain)', () => {
  it('every attack gets its expected verdict, and the tampered files still run', async () => {
    const names = [...new Set(attacks.map((x) => x.name))];
    const { stdout } = await execa('sh', [join(CORPUS_SOURCES, RUN_SCRIPT), dir, 'base', ...names]);
    const runs = parseRuns(stdout);
    const ref = runs.get('base');
    expect(ref?.rc).toBe(0);
    const seen: string[] = [];
    for (const x of attacks) {
      const c = await compare(join(dir, x.name), join(dir, x.against));
      const why = JSON.stringify({ differences: c.differences.map((d) => `${d.region}: ${d.detail}`) });
      seen.push(`${x.name} vs ${x.against}: ${c.verdict}`);
      expect(c.verdict, `${x.name} (${x.what}) vs ${x.against}: ${why}`).toBe(x.expect);
      if (x.runs) expect(runs.get(x.name), `${x.name} still runs like base`).toEqual(ref);
    }
    expect(seen.length).toBe(attacks.length);
  });
});
