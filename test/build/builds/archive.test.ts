import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gzipHeader, type StageFile, writeBuildsArchive } from '../../../src/build/builds/archive.js';

const PY = join(import.meta.dirname, '..', '..', 'helpers', 'builds_archive.py');

function stageOf(dir: string): StageFile[] {
  return readdirSync(dir).map((name) => {
    const st = statSync(join(dir, name));
    return { name, path: join(dir, name), mode: st.mode & 0o7777, size: st.size };
  });
}

/** Writes the stage with python3 (build.py's archive step) and with rebuild; returns both. */
async function both(
  files: Record<string, { data: Buffer | string; mode: number }>,
  epoch: number,
  archive = 'pkg-1.0-x86_64-linux.tar.gz',
) {
  const root = mkdtempSync(join(tmpdir(), 'rebuild-archive-'));
  const stage = join(root, 'stage');
  mkdirSync(stage);
  for (const [name, f] of Object.entries(files)) {
    writeFileSync(join(stage, name), f.data);
    chmodSync(join(stage, name), f.mode);
  }
  mkdirSync(join(root, 'py'));
  mkdirSync(join(root, 'ts'));
  execFileSync('python3', [PY, stage, join(root, 'py', archive), String(epoch)]);
  await writeBuildsArchive(stageOf(stage), epoch, join(root, 'ts', archive));
  return { py: readFileSync(join(root, 'py', archive)), ts: readFileSync(join(root, 'ts', archive)) };
}

// python3 and a 2 MB deflate per case: generous bounds that only catch a hang on a loaded machine
describe('the pkgforge/builds archive, byte for byte as CPython writes it', { timeout: 120_000 }, () => {
  it('a binary and a licence (the usual stage)', async () => {
    const { py, ts } = await both(
      {
        nu: {
          data: Buffer.concat([Buffer.from('\x7fELF'), randomBytes(300_000), Buffer.alloc(200_000, 7)]),
          mode: 0o755,
        },
        LICENSE: { data: 'MIT License\n\nCopyright (c) someone\n'.repeat(20), mode: 0o644 },
      },
      1754000000,
    );
    expect(ts.equals(py)).toBe(true);
    // the header CPython writes: FNAME set, mtime 0, XFL 2 (level 9), OS 255, the name without .gz
    expect([...py.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 2, 255]);
    expect(py.subarray(10, 10 + 'pkg-1.0-x86_64-linux.tar'.length + 1).toString('latin1')).toBe(
      'pkg-1.0-x86_64-linux.tar\0',
    );
  });

  it('names of 100 and more bytes (GNU long names), UTF-8 names, empty and block-sized files, sort order', async () => {
    const { py, ts } = await both(
      {
        [`${'a'.repeat(100)}`]: { data: 'exactly one hundred', mode: 0o644 },
        [`${'b'.repeat(150)}`]: { data: randomBytes(512), mode: 0o755 },
        'ünïcode-名前': { data: '', mode: 0o644 },
        B: { data: randomBytes(1024 * 20), mode: 0o644 },
        a_: { data: 'x', mode: 0o600 },
        _z: { data: 'y', mode: 0o755 },
      },
      0,
    );
    expect(ts.equals(py)).toBe(true);
  });

  it('a large compressible file and an epoch past 2038', async () => {
    const text = Buffer.from(Array.from({ length: 60_000 }, (_, i) => `line ${i} ${i % 7}\n`).join(''));
    const { py, ts } = await both(
      { big: { data: Buffer.concat([text, randomBytes(2_000_000), text]), mode: 0o755 } },
      4_102_444_800,
    );
    expect(ts.equals(py)).toBe(true);
  });

  it('an empty stage', async () => {
    const { py, ts } = await both({}, 1, 'empty.tar.gz');
    expect(ts.equals(py)).toBe(true);
  });

  it('writes no name for a file name CPython cannot write in Latin-1', () => {
    expect([...gzipHeader('dist/名前.tar.gz')]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
  });
});
