/**
 * Compression stream headers (gzip, xz, zstd): the fields a repackaging
 * changes, as name → value facts. Pure, over the first bytes of the file;
 * nothing is decompressed here.
 */

const GZIP_OS: Record<number, string> = { 0: 'FAT', 3: 'Unix', 7: 'Macintosh', 11: 'NTFS', 255: 'unknown' };

export type Facts = Record<string, string | number | boolean>;

/** gzip member header (RFC 1952): method, flags, mtime, extra flags, OS, and the stored name. */
export function gzipFacts(head: Buffer): Facts {
  if (head.length < 10) return { 'gzip.header': 'truncated' };
  const flg = head[3] ?? 0;
  const facts: Facts = {
    'gzip.method': head[2] === 8 ? 'deflate' : `method-${head[2]}`,
    'gzip.mtime': head.readUInt32LE(4),
    // 2 = slowest (level 9), 4 = fastest (level 1), 0 = other levels.
    'gzip.xfl': head[8] ?? 0,
    'gzip.os': GZIP_OS[head[9] ?? 0] ?? `os-${head[9]}`,
    'gzip.flags': flg,
  };
  let at = 10;
  if (flg & 0x04 && head.length >= at + 2) at += 2 + head.readUInt16LE(at);
  if (flg & 0x08) {
    const end = head.indexOf(0, at);
    if (end > 0) {
      facts['gzip.name'] = head.subarray(at, Math.min(end, at + 256)).toString('latin1');
      at = end + 1;
    }
  }
  if (flg & 0x10) {
    const end = head.indexOf(0, at);
    if (end > 0) facts['gzip.comment'] = head.subarray(at, Math.min(end, at + 256)).toString('latin1');
  }
  return facts;
}

const XZ_CHECKS: Record<number, string> = { 0: 'none', 1: 'crc32', 4: 'crc64', 10: 'sha256' };

/** xz stream header: the integrity check type. */
export function xzFacts(head: Buffer): Facts {
  if (head.length < 12) return { 'xz.header': 'truncated' };
  const check = (head[7] ?? 0) & 0x0f;
  return { 'xz.check': XZ_CHECKS[check] ?? `check-${check}` };
}

/** zstd frame header: descriptor flags, window, dictionary, content size. */
export function zstdFacts(head: Buffer): Facts {
  if (head.length < 6) return { 'zstd.header': 'truncated' };
  const fhd = head[4] ?? 0;
  const singleSegment = (fhd & 0x20) !== 0;
  const facts: Facts = {
    'zstd.checksum': (fhd & 0x04) !== 0,
    'zstd.single-segment': singleSegment,
    'zstd.content-size-field': [0, 2, 4, 8][fhd >> 6] ?? 0,
    'zstd.dictionary-id-field': [0, 1, 2, 4][fhd & 0x03] ?? 0,
  };
  if (!singleSegment) facts['zstd.window-descriptor'] = head[5] ?? 0;
  return facts;
}
