/**
 * The artifact comparator's pure parts: kind detection, SquashFS superblock,
 * compression headers, the benign rules, verdict folding, and the report of
 * an artifact comparison. Real SquashFS images come from squashfs-tools.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipFacts } from '../../src/forensics/artifact/compression.js';
import { detectKind } from '../../src/forensics/artifact/kind.js';
import {
  applyDesktopExecRewrite,
  explainedByDesktopRewrite,
} from '../../src/forensics/artifact/rules/desktop-exec.js';
import { renamedIcon } from '../../src/forensics/artifact/rules/icon-rename.js';
import { parseSuperblock } from '../../src/forensics/artifact/squashfs.js';
import type { ArtifactComparison } from '../../src/forensics/artifact/types.js';
import { worst } from '../../src/forensics/artifact/verdict.js';
import { compareArtifact } from '../../src/forensics/artifact.js';
import { renderArtifact } from '../../src/report/artifact.js';
import { SBUILD_MKSQUASHFS } from './artifact/fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-artifact-unit-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('kind detection (from bytes, never names)', () => {
  const at = (bytes: number[], offset = 0, size = 512) => {
    const b = Buffer.alloc(size);
    Buffer.from(bytes).copy(b, offset);
    return b;
  };
  it.each([
    ['elf', at([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1])],
    ['appimage', at([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0x41, 0x49, 0x02])],
    ['tar.gz', at([0x1f, 0x8b, 8])],
    ['tar.xz', at([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0])],
    ['tar.zst', at([0x28, 0xb5, 0x2f, 0xfd])],
    ['zip', at([0x50, 0x4b, 3, 4])],
    ['tar', at([...Buffer.from('ustar')], 257)],
    ['binary', at([1, 2, 3])],
  ])('%s', (kind, head) => {
    expect(detectKind(head, true)).toBe(kind);
  });
  it('text is UTF-8 without NUL; a character cut at the end of a partial read is still text', () => {
    expect(detectKind(Buffer.from('[Desktop Entry]\nName=é\n'), true)).toBe('text');
    expect(detectKind(Buffer.from('abc\u00e9').subarray(0, 4), false)).toBe('text');
    expect(detectKind(Buffer.from('abc\u00e9').subarray(0, 4), true)).toBe('binary');
  });
});

describe('SquashFS superblock', () => {
  it("reads what mksquashfs wrote with sbuild's options", async () => {
    const src = join(dir, 'sq');
    await mkdir(src);
    await writeFile(join(src, 'f'), 'x');
    await execa('mksquashfs', [src, join(dir, 'a.sqfs'), ...SBUILD_MKSQUASHFS, '-quiet', '-no-progress']);
    const sb = parseSuperblock(await readFile(join(dir, 'a.sqfs')));
    expect(sb).toMatchObject({
      compression: 'zstd',
      compressionLevel: 22,
      blockSize: 1024 * 1024,
      mkfsTime: 0,
      noXattrTable: true,
      version: '4.0',
    });
  });
  it('refuses what is not a superblock', () => {
    expect(parseSuperblock(Buffer.alloc(100))).toEqual({ error: 'no SquashFS magic ("hsqs")' });
    expect(parseSuperblock(Buffer.alloc(10))).toHaveProperty('error');
  });
});

it('gzip header facts name mtime, xfl, OS and stored name', () => {
  const facts = gzipFacts(gzipSync(Buffer.from('x'), { level: 9 }));
  expect(facts).toMatchObject({ 'gzip.method': 'deflate', 'gzip.mtime': 0, 'gzip.xfl': 2 });
});

describe('benign rules', () => {
  it("desktop Exec= rewrite is bincache's sed, exactly", () => {
    const rebuilt = '[Desktop Entry]\nExec=hello %U\nTryExec=hello\n  exec = /usr/bin/hello --x\n';
    expect(applyDesktopExecRewrite(rebuilt)).toBe(
      '[Desktop Entry]\nExec={{pkg_path}} %U\nTryExec=hello\nExec={{pkg_path}} --x\n',
    );
    expect(explainedByDesktopRewrite(applyDesktopExecRewrite(rebuilt), rebuilt)).toBe(true);
    // Anything beyond the program word is not the rewrite: an added flag stays a difference.
    expect(
      explainedByDesktopRewrite(
        '[Desktop Entry]\nExec={{pkg_path}} --evil %U\n',
        '[Desktop Entry]\nExec=hello %U\n',
      ),
    ).toBe(false);
    expect(explainedByDesktopRewrite('same', 'same')).toBe(false);
  });
  it("icon rename is sbuild's rename_icon, by magic", () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(renamedIcon('hello.DirIcon', png)).toBe('hello.png');
    expect(renamedIcon('sub/hello.DirIcon', Buffer.from('<svg xmlns'))).toBe('sub/hello.svg');
    expect(renamedIcon('hello.DirIcon', Buffer.from('GIF89a'))).toBeUndefined();
    expect(renamedIcon('.DirIcon', png)).toBeUndefined();
  });
  it('a whole is never better than its worst part', () => {
    expect(worst('identical', 'equivalent')).toBe('equivalent');
    expect(worst('equivalent', 'different', 'identical')).toBe('different');
    expect(worst()).toBe('identical');
  });
});

describe('plain files through compareArtifact', () => {
  it('a .desktop file rewritten by the CI is equivalent, with the rule named', async () => {
    await writeFile(join(dir, 'pub.desktop'), '[Desktop Entry]\nExec={{pkg_path}} %U\n');
    await writeFile(join(dir, 'reb.desktop'), '[Desktop Entry]\nExec=hello %U\n');
    const c = await compareArtifact(join(dir, 'pub.desktop'), join(dir, 'reb.desktop'));
    expect(c.verdict).toBe('equivalent');
    expect(c.explanations.map((e) => e.rule)).toEqual(['desktop-exec-rewrite']);
    expect(c.file?.textDiff).toContain('+Exec=hello %U');
  });
  it('one archive against a plain file is different (kinds)', async () => {
    await writeFile(join(dir, 'x.gz'), gzipSync(Buffer.from('x')));
    const c = await compareArtifact(join(dir, 'x.gz'), join(dir, 'reb.desktop'));
    expect(c.verdict).toBe('different');
    expect(c.archive[0]?.aspect).toBe('kind');
  });
});

describe('the report shows the member tree with each verdict', () => {
  const doc: ArtifactComparison = {
    schema: 'rebuild.artifact/1',
    verdict: 'different',
    a: { path: 'pub.tar.gz', kind: 'tar.gz', size: 10, sha256: 'a'.repeat(64), blake3: 'b'.repeat(64) },
    b: { path: 'reb.tar.gz', kind: 'tar.gz', size: 10, sha256: 'c'.repeat(64), blake3: 'd'.repeat(64) },
    members: [
      { path: 'bin', verdict: 'identical', presence: 'both', detail: 'same metadata' },
      {
        path: 'bin/tool',
        verdict: 'different',
        presence: 'both',
        detail: 'accounting comparison: different (.text)',
      },
      { path: 'extra', verdict: 'different', presence: 'b', detail: 'file only in the rebuilt artifact' },
    ],
    archive: [{ aspect: 'mtime', member: 'bin', detail: 'mtime differs', a: '0', b: '1' }],
    explanations: [],
    metadataOnly: false,
    notes: [],
    durationMs: 5,
  };
  it('text', async () => {
    const t = await renderArtifact('text', doc, { width: 120 });
    expect(t).toContain('DIFFERENT — 2 member(s) differ: bin/tool, extra');
    expect(t).toMatch(/ {2}tool\s+different/);
    expect(t).toContain('extra [only in b]');
    expect(t).toContain('nothing: a difference');
  });
  it('HTML, escaped', async () => {
    const html = await renderArtifact('html', {
      ...doc,
      members: [...doc.members, { path: '<script>x', verdict: 'different', presence: 'a', detail: 'd' }],
    });
    expect(html).toContain('<table');
    expect(html).toContain('&lt;script&gt;x');
    expect(html).not.toContain('<script>x');
  });
  it('Markdown', async () => {
    const md = await renderArtifact('markdown', doc);
    expect(md).toContain('Members (3)');
    expect(md).toContain('Archive-level differences');
  });
});
