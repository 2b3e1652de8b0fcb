import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';

/**
 * The disk guard on a real small file system: a tmpfs of 256 MiB and 20,000
 * inodes in a private mount namespace (`unshare`, nothing mounted outside the
 * test), a writer that never stops by itself, and the guard's real statfs
 * polling. The writer stops when the guard calls back; a guard that never
 * fires ends in ENOSPC, which the test sees.
 */
async function fill(kind: 'space' | 'inodes') {
  const dir = mkdtempSync(join(tmpdir(), 'rebuild-guard-'));
  const script = `
    import { writeFileSync } from 'node:fs';
    import { watchDiskReserve, checkDiskReserve, describeShortage } from './src/engine/disk-guard.ts';
    const dir = process.argv[1];
    let short;
    const stop = watchDiskReserve([dir], 64 * 1024 ** 2, (s) => { short = s; });
    let n = 0;
    const chunk = Buffer.alloc(${kind === 'space' ? '1024 * 1024' : '0'});
    try {
      while (!short) {
        writeFileSync(dir + '/f' + n++, chunk);
        if (n % ${kind === 'space' ? 1 : 100} === 0) await new Promise((r) => setTimeout(r, ${kind === 'space' ? 10 : 5}));
      }
    } catch (e) { console.log(JSON.stringify({ error: e.code, n })); process.exit(0); }
    stop();
    let refused;
    await checkDiskReserve([dir], 64 * 1024 ** 2).catch((e) => { refused = e.message; });
    console.log(JSON.stringify({ short, n, text: describeShortage(short, 'fell to'), refused }));
  `;
  const sh = `mount -t tmpfs -o size=256m,nr_inodes=20000 tmpfs '${dir}' && node --import tsx --input-type=module -e "$SCRIPT" '${dir}'`;
  const r = await execa('unshare', ['--mount', '--map-root-user', 'sh', '-c', sh], {
    reject: false,
    cwd: REPO,
    env: { SCRIPT: script },
    stdin: 'ignore',
  });
  rmSync(dir, { recursive: true, force: true });
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as {
    error?: string;
    n: number;
    text: string;
    refused?: string;
    short: { kind: string; freeBytes: number; freeInodes: number; reserveInodes: number };
  };
}

describe('the disk guard (a real tmpfs, real statfs)', () => {
  it('calls back when free space falls below the reserve, before the file system is full', async () => {
    const r = await fill('space');
    expect(r.error).toBeUndefined();
    expect(r.short.kind).toBe('space');
    expect(r.short.freeBytes).toBeLessThan(64 * 1024 ** 2);
    expect(r.short.freeBytes).toBeGreaterThan(0);
    expect(r.text).toMatch(
      /free space on the file system of .* fell to .* GiB, below the 0.06 GiB a build must leave free/,
    );
    expect(r.refused).toMatch(/free space on the file system of .* is .* below/);
  }, 120_000);

  it('calls back when free inodes fall below 1% of the file system (at least 10,000), before none are left', async () => {
    const r = await fill('inodes');
    expect(r.error).toBeUndefined();
    expect(r.short.kind).toBe('inodes');
    expect(r.short.reserveInodes).toBe(10_000);
    expect(r.short.freeInodes).toBeLessThan(10_000);
    expect(r.short.freeInodes).toBeGreaterThan(0);
    expect(r.text).toMatch(/free inodes \(files\) on the file system of .* fell to \d+, below the 10000/);
  }, 120_000);
});
