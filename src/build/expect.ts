import { lstat, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile } from '../hash/digest.js';
import { isRebuildError, RebuildError } from '../util/errors.js';
import { readRegularFile } from '../util/regular-file.js';

/** Checksums a user expects for one output file. */
export interface Expected {
  blake3?: string;
  sha256?: string;
  /** Where the expectation came from (a flag, a CHECKSUM file). */
  source: string;
}

/** Expected checksums by output file name. */
export type Expectations = Map<string, Expected>;

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Parses a CHECKSUM file in the formats pkgforge published: `name:<b3sum>`
 * (2025 bash CI), `BLAKE3: <hex> <file>` / `SHA256: <hex> <file>` (Rust
 * sbuild), and the `<hex>  <file>` lines of b3sum/sha256sum (hash kind given
 * by `plainKind`). Pure.
 */
export function parseChecksumFile(
  text: string,
  source: string,
  plainKind: 'blake3' | 'sha256' = 'blake3',
): Expectations {
  const out: Expectations = new Map();
  const set = (file: string, kind: 'blake3' | 'sha256', hex: string, line: number) => {
    const h = hex.toLowerCase();
    if (!HEX64.test(h)) {
      throw new RebuildError('input', `line ${line}: "${hex}" is not a 64-digit hex checksum`, {
        subject: source,
      });
    }
    const name = file.replace(/^\*/, '').replace(/^\.\//, '');
    const e = out.get(name) ?? { source };
    e[kind] = h;
    out.set(name, e);
  };
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    let m = /^(BLAKE3|SHA256|SHA-256|B3)\s*[:=]\s*([0-9a-fA-F]+)\s+(.+)$/.exec(line);
    if (m) {
      set(m[3]!, /B/i.test(m[1]![0]!) ? 'blake3' : 'sha256', m[2]!, i + 1);
      continue;
    }
    m = /^([0-9a-fA-F]{64})\s+\*?(.+)$/.exec(line);
    if (m) {
      set(m[2]!, plainKind, m[1]!, i + 1);
      continue;
    }
    m = /^(.+?):([0-9a-fA-F]{64})$/.exec(line);
    if (m) {
      set(m[1]!, 'blake3', m[2]!, i + 1);
      continue;
    }
    throw new RebuildError('input', `line ${i + 1} is not a checksum line: "${line.slice(0, 80)}"`, {
      subject: source,
      fix: 'use `name:<blake3>`, `BLAKE3: <hex> <file>`, `SHA256: <hex> <file>` or `<hex>  <file>` lines',
    });
  }
  return out;
}

/** A CHECKSUM file lists a few hashes; anything larger is not one. */
const MAX_CHECKSUM_FILE_BYTES = 16 * 1024 ** 2;

/** Published files beside a CHECKSUM, for forensics when a checksum differs. */
export interface PublishedSet {
  expectations: Expectations;
  /** Directory holding the published files, when one was given. */
  dir?: string;
}

/**
 * Reads `--expect`: a CHECKSUM file, or a directory with a CHECKSUM file and
 * the published files themselves.
 */
export async function loadExpectations(path: string): Promise<PublishedSet> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new RebuildError('input', 'no such file or directory', { subject: path });
  const file = st.isDirectory() ? join(path, 'CHECKSUM') : path;
  // Checked on the open handle: a FIFO or /dev/zero is refused instead of hanging or read without end.
  const text = (
    await readRegularFile(file, 'checksum file', MAX_CHECKSUM_FILE_BYTES).catch((err: unknown) => {
      if (st.isDirectory() && isRebuildError(err) && /no such file/.test(err.message)) {
        throw new RebuildError('input', 'the directory holds no CHECKSUM file', {
          subject: path,
          fix: 'put a CHECKSUM file in the directory',
        });
      }
      throw err;
    })
  ).toString('utf8');
  const expectations = parseChecksumFile(text, file);
  if (st.isDirectory()) await checkPublishedAgainstChecksum(path, expectations, file);
  return { expectations, dir: st.isDirectory() ? path : undefined };
}

/**
 * A published file beside its CHECKSUM must match it: otherwise the
 * directory is not what was published (a truncated download, a file swapped
 * in), and comparing a rebuild with it would explain the wrong bytes.
 */
async function checkPublishedAgainstChecksum(dir: string, expectations: Expectations, checksumFile: string) {
  for (const [name, want] of expectations) {
    if (name.includes('/') || name === '..') continue;
    const p = join(dir, name);
    const st = await lstat(p).catch(() => undefined);
    if (!st?.isFile()) continue;
    const got = await hashFile(p);
    if (checkDigests(want, got) === 'mismatch') {
      const kind = want.blake3 !== undefined && want.blake3 !== got.blake3 ? 'BLAKE3' : 'SHA-256';
      throw new RebuildError('upstream', `${name} does not match its own ${kind} in ${checksumFile}`, {
        subject: p,
        fix: 'download the published files again (or pass only the CHECKSUM file as --expect)',
      });
    }
  }
}

/** `--expect-bsum`/`--expect-shasum` for the main file. */
export function expectationFromFlags(
  mainFile: string,
  flags: { bsum?: string; shasum?: string },
): Expectations {
  const out: Expectations = new Map();
  if (!flags.bsum && !flags.shasum) return out;
  const e: Expected = { source: 'command line' };
  for (const [kind, value, flag] of [
    ['blake3', flags.bsum, '--expect-bsum'],
    ['sha256', flags.shasum, '--expect-shasum'],
  ] as const) {
    if (value === undefined) continue;
    const h = value.trim().toLowerCase();
    if (!HEX64.test(h))
      throw new RebuildError('usage', `${flag} needs a 64-digit hex checksum, got "${value}"`);
    e[kind] = h;
  }
  out.set(mainFile, e);
  return out;
}

export type CheckOutcome = 'match' | 'mismatch' | 'missing';

/** Compares a file's digests with what was expected: every given hash must match. */
export function checkDigests(expected: Expected, actual: { blake3: string; sha256: string }): CheckOutcome {
  const results = [
    expected.blake3 === undefined ? undefined : expected.blake3 === actual.blake3,
    expected.sha256 === undefined ? undefined : expected.sha256 === actual.sha256,
  ].filter((r) => r !== undefined);
  return results.every(Boolean) ? 'match' : 'mismatch';
}
