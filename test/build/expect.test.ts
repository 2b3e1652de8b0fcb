import { describe, expect, it } from 'vitest';
import { checkDigests, expectationFromFlags, parseChecksumFile } from '../../src/build/expect.js';

const B = 'a'.repeat(64);
const S = 'b'.repeat(64);

describe('CHECKSUM files as pkgforge published them', () => {
  it('reads the 2025 bash format name:<b3sum>', () => {
    const e = parseChecksumFile(`hello:${B}\nhello.version:${S}\n`, 'CHECKSUM');
    expect(e.get('hello')).toEqual({ blake3: B, source: 'CHECKSUM' });
    expect(e.get('hello.version')?.blake3).toBe(S);
  });
  it('reads the Rust sbuild format and merges both hashes of one file', () => {
    const e = parseChecksumFile(`BLAKE3: ${B} ./hello\nSHA256: ${S.toUpperCase()} ./hello\n`, 'C');
    expect(e.get('hello')).toEqual({ blake3: B, sha256: S, source: 'C' });
  });
  it('reads sha256sum/b3sum lines', () => {
    expect(parseChecksumFile(`${S}  hello\n`, 'C', 'sha256').get('hello')?.sha256).toBe(S);
    expect(parseChecksumFile(`${B} *hello\n`, 'C').get('hello')?.blake3).toBe(B);
  });
  it('names the file and line of a bad line', () => {
    expect(() => parseChecksumFile(`# ok\nhello:${B}\ngarbage here\n`, 'pub/CHECKSUM')).toThrow(
      /line 3 is not a checksum line/,
    );
    expect(() => parseChecksumFile('BLAKE3: abc hello', 'C')).toThrow(/not a 64-digit hex/);
  });
});

describe('expectations from flags and checks', () => {
  it('validates flag values', () => {
    expect(() => expectationFromFlags('x', { bsum: 'nothex' })).toThrow(/--expect-bsum needs a 64-digit/);
    expect(expectationFromFlags('x', { shasum: S }).get('x')).toEqual({ sha256: S, source: 'command line' });
  });
  it('requires every given hash to match', () => {
    expect(checkDigests({ blake3: B, sha256: S, source: '' }, { blake3: B, sha256: S })).toBe('match');
    expect(checkDigests({ blake3: B, sha256: S, source: '' }, { blake3: B, sha256: B })).toBe('mismatch');
    expect(checkDigests({ blake3: B, source: '' }, { blake3: S, sha256: S })).toBe('mismatch');
  });
});
