import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/cli/config.js';
import { failureHint } from '../../src/report/failure-hints.js';
import { diffLogs, noiseKey } from '../../src/report/log-diff.js';

describe('failure hints', () => {
  it('a download under network none names --network host', () => {
    const h = failureHint({
      exitCode: 128,
      logTail: ["fatal: unable to access 'https://github.com/x/y/': Could not resolve host: github.com"],
      network: 'none',
    });
    expect(h).toMatch(/--network host/);
    // with the network on, the same failure is not blamed on it
    expect(
      failureHint({ exitCode: 128, logTail: ['Could not resolve host: github.com'], network: 'host' }),
    ).toBe(undefined);
  });

  it('an out-of-memory kill names --memory and the limit it had', () => {
    const h = failureHint({
      exitCode: 137,
      logTail: ['cc1plus'],
      network: 'none',
      memoryBytes: 4 * 1024 ** 3,
    });
    expect(h).toMatch(/status 137.*out of memory \(it had 4 GiB\).*--memory <GiB>/);
    expect(failureHint({ exitCode: 1, logTail: ['error: missing header'], network: 'none' })).toBe(undefined);
  });

  it('a write to a read-only root says so and where to write', () => {
    const h = failureHint({
      exitCode: 1,
      logTail: ['install: cannot create regular file /usr/local/bin/x: Read-only file system'],
      network: 'none',
    });
    expect(h).toMatch(/read-only root file system.*\$SBUILD_OUTDIR/);
  });
});

describe('log diff', () => {
  it('timestamps, temporary paths, hex, durations and progress bars are noise', () => {
    expect(noiseKey('[2025-01-22T09:51:37Z] in /tmp/sbuild-1a2b/x took 12.5s')).toBe(
      noiseKey('[2026-12-01T03:00:00Z] in /tmp/sbuild-ffee/x took 3s'),
    );
    expect(noiseKey('downloading\r[###       ] 30%\r[##########] 100%')).toBe('<progress>');
    expect(noiseKey('gcc -O2')).not.toBe(noiseKey('gcc -O3'));
  });

  it('aligns by content (an inserted line does not shift the rest) and folds long same runs', () => {
    const same = Array.from({ length: 20 }, (_, i) => `step ${i}`);
    const d = diffLogs([...same, 'end'].join('\n'), ['step 0', 'extra', ...same.slice(1), 'end'].join('\n'));
    expect(d.added).toBe(1);
    expect(d.removed).toBe(0);
    expect(d.lines.some((l) => l.t === 'fold')).toBe(true);
    expect(d.lines.filter((l) => l.t === 'add')).toEqual([{ t: 'add', text: 'extra' }]);
  });
});

describe('config file', () => {
  it('accepts the known keys and names every bad one with a fix', () => {
    expect(parseConfig('arch: aarch64\njobs: 2\nimage_map: { a: b }\n', 'c.yaml')).toEqual({
      arch: 'aarch64',
      jobs: 2,
      image_map: { a: 'b' },
    });
    expect(() => parseConfig('arch: sparc\njbos: 2\n', 'c.yaml')).toThrow(
      /arch: must be x86_64 or aarch64; .*jbos/,
    );
    expect(() => parseConfig('metadata_base: ftp://x\n', 'c.yaml')).toThrow(/metadata_base/);
    expect(() => parseConfig('arch: [\n', 'c.yaml')).toThrow(/not valid YAML/);
  });
});

describe('times, strips and paths for people', () => {
  it('local time with the zone, and relative', async () => {
    const { localTime } = await import('../../src/report/format.js');
    const now = new Date('2026-12-01T06:00:00Z');
    expect(localTime('2026-12-01T04:00:00Z', now, 'Europe/Berlin')).toBe('2026-12-01 05:00 GMT+1 (2 h ago)');
    expect(localTime('2026-11-28T06:00:00Z', now, 'UTC')).toBe('2026-11-28 06:00 UTC (3 days ago)');
  });

  it('a verdict strip reads without colour; staging paths are shown as published', async () => {
    const { verdictStripHtml, verdictStripText } = await import('../../src/report/strip.js');
    const nights = ['reproducible', 'reproducible', 'different'].map((verdict, i) => ({
      at: `2026-11-2${i}`,
      verdict,
    }));
    expect(verdictStripText(nights)).toBe('RRD');
    // letters in the cells, and every night named with its verdict in the label
    expect(verdictStripHtml(nights)).toBe(
      '<span class="strip" role="img" title="3 nights, oldest first: 2026-11-20, 2026-11-21 reproducible; 2026-11-22 different" aria-label="3 nights, oldest first: 2026-11-20, 2026-11-21 reproducible; 2026-11-22 different"><b class="st-ok">RR</b><b class="st-bad">D</b></span>',
    );
    const { displayPath } = await import('../../src/report/comparison-access.js');
    expect(displayPath('/w/rebuild-out/x/.aarch64.partial-1a2b3c4d/build/x')).toBe(
      '/w/rebuild-out/x/aarch64/build/x',
    );
  });
});
