import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BUILD_LOG_CAP_BYTES, CappedLog, LineSplitter, MAX_LINE_CHARS } from '../../src/build/log-capture.js';
import { BoundedOutput, OutputBudget } from '../../src/engine/shim/bounded-output.js';
import { archiveBase } from '../../src/engine/shim/copy-out.js';
import { PolicyError, workRelative } from '../../src/engine/shim/work-paths.js';

describe('the shim resolves recipe paths lexically, never on the host', () => {
  it('keeps work-directory paths inside it and refuses everything else', () => {
    expect(workRelative('x/y', '/sbuild', '/sbuild')).toBe('x/y');
    expect(workRelative('/sbuild/a/../b', '/', '/sbuild')).toBe('b');
    expect(workRelative('.', '/sbuild', '/sbuild')).toBe('');
    for (const [path, cwd] of [
      ['/', '/sbuild'],
      ['..', '/sbuild'],
      ['/sbuild/../etc', '/'],
      ['/sbuildx', '/'],
      ['x', '.'],
      ['x', 'sbuild'],
      ['a\0b', '/sbuild'],
    ] as const) {
      expect(() => workRelative(path, cwd, '/sbuild'), `${path} from ${cwd}`).toThrow(PolicyError);
    }
  });

  it('names the archive entry docker gives a copied path', () => {
    expect(archiveBase('/o/.')).toEqual({ base: '.', contentsOnly: true });
    expect(archiveBase('/')).toEqual({ base: '.', contentsOnly: true });
    expect(archiveBase('/o/file')).toEqual({ base: 'file', contentsOnly: false });
    expect(archiveBase('/o/dir/')).toEqual({ base: 'dir', contentsOnly: false });
    expect(() => archiveBase('/o/..')).toThrow(PolicyError);
  });
});

describe('what a recipe prints is bounded', () => {
  it('docker logs keeps exactly the last bytes, and says how much it dropped', () => {
    const out = new BoundedOutput(10);
    for (const c of ['abcd', 'efgh', 'ijkl', 'mnop']) out.push(Buffer.from(c));
    const replay = Buffer.concat(out.replay()).toString();
    expect(replay.endsWith('ghijklmnop')).toBe(true);
    expect(replay).toMatch(/first 6 bytes of this output were dropped/);
    out.push(Buffer.alloc(100, 'z'));
    expect(Buffer.concat(out.replay()).toString().endsWith('z'.repeat(10))).toBe(true);
  });

  it("docker logs of many containers together keep no more than the build's shared budget", () => {
    // Expected: 64 containers × 8 MiB each was 512 MiB held; with a shared budget, each container keeps
    // its own newest bytes while the total never passes the budget, and a forgotten container frees its share.
    const budget = new OutputBudget(25);
    const outs = Array.from({ length: 4 }, () => new BoundedOutput(10, budget));
    for (const o of outs) for (let i = 0; i < 5; i++) o.push(Buffer.from('abcdef'));
    expect(budget.used).toBeLessThanOrEqual(25);
    const kept = outs.map((o) => Buffer.concat(o.replay()).toString());
    expect(kept[0]!.endsWith('efabcdef')).toBe(true);
    expect(kept[3]).toMatch(/were dropped/);
    outs[0]!.release();
    outs[1]!.release();
    outs[3]!.push(Buffer.from('0123456789'));
    expect(Buffer.concat(outs[3]!.replay()).toString().endsWith('0123456789')).toBe(true);
    expect(budget.used).toBeLessThanOrEqual(25);
  });

  it('build.log stops at its cap and states it', () => {
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const log = new CappedLog(sink, 8);
    log.write(Buffer.from('12345'));
    log.write(Buffer.from('67890'));
    log.write(Buffer.from('abc'));
    expect(log.full).toBe(true);
    const note = log.close();
    expect(note).toBe('build.log capped at 8 bytes: the last 5 bytes of output were dropped');
    expect(Buffer.concat(chunks).toString()).toBe(`12345678\n[rebuild] ${note}\n`);
    expect(BUILD_LOG_CAP_BYTES).toBe(64 * 1024 ** 2);
  });

  it('splits lines in linear time and cuts a line with no newline into bounded pieces', () => {
    const lines: string[] = [];
    const split = new LineSplitter((l) => lines.push(l));
    split.push(Buffer.from('one\ntw'));
    split.push(Buffer.from('o\n\nthree'));
    split.flush();
    expect(lines).toEqual(['one', 'two', '', 'three']);
    lines.length = 0;
    // 16 MiB without a newline, in 64 KiB chunks: pieces of MAX_LINE_CHARS, nothing held beyond one.
    const chunk = Buffer.alloc(64 * 1024, 'a');
    for (let i = 0; i < 256; i++) split.push(chunk);
    split.flush();
    expect(lines.every((l) => l.length <= MAX_LINE_CHARS)).toBe(true);
    expect(lines.reduce((n, l) => n + l.length, 0)).toBe(16 * 1024 ** 2);
    // A multi-byte character split across chunks is decoded whole.
    lines.length = 0;
    const euro = Buffer.from('€\n');
    split.push(euro.subarray(0, 1));
    split.push(euro.subarray(1));
    expect(lines).toEqual(['€']);
  });
});
