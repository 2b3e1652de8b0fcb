import { describe, expect, it } from 'vitest';
import { splitByFile } from '../../src/forensics/context.js';
import { runTool } from '../../src/util/run-tool.js';

describe('runTool', () => {
  it('hands back stdout, stderr and the exit code of a real process', async () => {
    const ok = await runTool('sh', ['-c', 'echo out; echo err >&2'], { timeoutMs: 60_000 });
    expect(ok).toMatchObject({ exitCode: 0, stdout: 'out\n', stderr: 'err\n', timedOut: false });
    const bad = await runTool('sh', ['-c', 'exit 3'], { timeoutMs: 60_000 });
    expect(bad.exitCode).toBe(3);
    expect(bad.failure).toBe('exited with code 3');
  });

  it('never rejects: a missing tool and a tool killed at its bound are results', async () => {
    const missing = await runTool('/nonexistent/tool', [], { timeoutMs: 60_000 });
    expect(missing.exitCode).toBeUndefined();
    expect(missing.failure).toMatch(/cannot run .*ENOENT/);
    // The bound is what is tested (the tool would run for 10 minutes), not how fast it fires.
    const slow = await runTool('sleep', ['600'], { timeoutMs: 100 });
    expect(slow).toMatchObject({ timedOut: true, exitCode: undefined });
  });

  it('fails a run whose output overflows, without calling it a timeout', async () => {
    const r = await runTool('sh', ['-c', 'head -c 100000 /dev/zero'], { timeoutMs: 60_000, maxBuffer: 1000 });
    expect(r.timedOut).toBe(false);
    expect(r.failure).toBe('printed more output than expected');
  });
});

describe('splitByFile', () => {
  it("gives each file the instruction lines objdump printed under that file's header", () => {
    const out = [
      '',
      '/t/a.bin:     file format binary',
      '',
      'Disassembly of section .data:',
      '',
      '0000000000001000 <.data>:',
      '    1000:\t90                   \tnop',
      '    1001:\tc3                   \tret',
      '',
      '/t/b.bin:     file format binary',
      '',
      'Disassembly of section .data:',
      '    1000:\tcc                   \tint3',
    ].join('\n');
    const [a, b] = splitByFile(out, ['/t/a.bin', '/t/b.bin']);
    expect(a).toEqual(['    1000:\t90                   \tnop', '    1001:\tc3                   \tret']);
    expect(b).toEqual(['    1000:\tcc                   \tint3']);
  });
});
