import { describe, expect, it } from 'vitest';
import { parseBinfmtEntry } from '../../src/engine/emulator.js';

describe('binfmt_misc entries', () => {
  it("reads Debian's qemu-aarch64 handler as the kernel shows it", () => {
    const text = [
      'enabled',
      'interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P',
      'flags: PF',
      'offset 0',
      'magic 7f454c460201010000000000000000000200b700',
      'mask ffffffffffffff00fffffffffffffffffeffffff',
      '',
    ].join('\n');
    expect(parseBinfmtEntry(text)).toEqual({
      enabled: true,
      interpreter: '/usr/libexec/qemu-binfmt/aarch64-binfmt-P',
      flags: 'PF',
    });
  });
  it('sees a disabled handler', () => {
    expect(parseBinfmtEntry('disabled\ninterpreter /x\nflags: P\n').enabled).toBe(false);
  });
});
