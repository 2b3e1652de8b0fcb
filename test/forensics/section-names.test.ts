/**
 * Section names are hints the loader never reads, but their bytes are text
 * of the published file's choosing: judged against the rebuild's names.
 * Expected, written before: a `.text` renamed `.TEXT` (5 free bytes) →
 * different (.shstrtab); `.text` renamed to another name b has (`.fini`,
 * but b's section at that address is `.text`) → different; strip's copy
 * (fewer sections, b's names) → equivalent; an sstrip-like copy (no section
 * headers at all) → equivalent.
 */
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../src/forensics/compare.js';
import { sstripCopy } from '../helpers/sstrip.js';
import { gcc, patch, SOURCE, sectionOffset } from './fixtures.js';

let dir: string;
let b: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-names-'));
  b = await gcc(join(dir, 'src'), join(dir, 'b'), SOURCE);
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** a = b with the `.text` name in the section name table overwritten by `to` (same length or shorter). */
async function renamed(to: string): Promise<string> {
  const table = await sectionOffset(b, '.shstrtab');
  const bytes = await readFile(b);
  const at = bytes.subarray(table.offset, table.offset + table.size).indexOf('.text\0');
  expect(at).toBeGreaterThanOrEqual(0);
  const out = join(dir, `a-${to}`);
  await patch(b, out, (x) => {
    x.write(`${to}\0`.padEnd(6, '\0'), table.offset + at, 'latin1');
  });
  await chmod(out, 0o755);
  await execa(out); // still runs: the loader never reads section names
  return out;
}

describe('section names judged against the rebuild', () => {
  it('a .text renamed .TEXT is different, naming the section name table', async () => {
    const c = await compare(await renamed('.TEXT'), b);
    expect(c.verdict).toBe('different');
    expect(c.differences.map((d) => d.region)).toContain('.shstrtab');
    expect(c.differences.find((d) => d.region === '.shstrtab')?.detail).toMatch(/named ".TEXT"/);
  });

  it("a .text renamed to another of b's names (.fini) is different: b's section at that address is .text", async () => {
    const c = await compare(await renamed('.fini'), b);
    expect(c.verdict).toBe('different');
    expect(c.differences.find((d) => d.region === '.shstrtab')?.detail).toMatch(
      /"\.fini", b's section of that type at 0x[0-9a-f]+ "\.text"/,
    );
  });

  it("strip's copy (fewer sections, every name b's) and an sstrip-like copy (no section headers) are equivalent", async () => {
    const stripped = join(dir, 'a-stripped');
    await execa('strip', ['-o', stripped, b]);
    expect((await compare(stripped, b)).verdict).toBe('equivalent');
    const sstripped = join(dir, 'a-sstripped');
    await sstripCopy(b, sstripped);
    await execa(sstripped);
    expect((await compare(sstripped, b)).verdict).toBe('equivalent');
  });
});
