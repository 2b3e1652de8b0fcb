/**
 * The SquashFS 4.0 superblock (96 bytes, little-endian) and the compressor
 * options that follow it. Pure: a fixed-layout header, read to name
 * archive-level differences and to recognise pkgforge's repack.
 */

export const SQUASHFS_MAGIC = 0x73717368; // "hsqs"
export const SUPERBLOCK_BYTES = 96;
/** Compressor options, when present, are one metadata block right after the superblock. */
export const SUPERBLOCK_READ_BYTES = SUPERBLOCK_BYTES + 2 + 64;

const COMPRESSORS: Record<number, string> = { 1: 'gzip', 2: 'lzma', 3: 'lzo', 4: 'xz', 5: 'lz4', 6: 'zstd' };

const FLAGS: ReadonlyArray<[number, string]> = [
  [0x0001, 'uncompressed-inodes'],
  [0x0002, 'uncompressed-data'],
  [0x0008, 'uncompressed-fragments'],
  [0x0010, 'no-fragments'],
  [0x0020, 'always-fragments'],
  [0x0040, 'duplicates'],
  [0x0080, 'exportable'],
  [0x0100, 'uncompressed-xattrs'],
  [0x0200, 'no-xattrs'],
  [0x0400, 'compressor-options'],
  [0x0800, 'uncompressed-ids'],
];

export interface SquashfsSuperblock {
  inodes: number;
  /** mkfs time, seconds since the epoch (`-mkfs-time 0` makes it 0). */
  mkfsTime: number;
  blockSize: number;
  fragments: number;
  compression: string;
  flags: string[];
  ids: number;
  version: string;
  bytesUsed: number;
  /** No xattr table (the table offset is all ones). */
  noXattrTable: boolean;
  /** zstd/gzip/xz level from the compressor options (absent: the compressor's default). */
  compressionLevel?: number;
}

/** Parses a superblock at the start of `buf`, or says why it is not one. */
export function parseSuperblock(buf: Buffer): SquashfsSuperblock | { error: string } {
  if (buf.length < SUPERBLOCK_BYTES) return { error: 'shorter than a SquashFS superblock' };
  if (buf.readUInt32LE(0) !== SQUASHFS_MAGIC) return { error: 'no SquashFS magic ("hsqs")' };
  const major = buf.readUInt16LE(28);
  const minor = buf.readUInt16LE(30);
  if (major !== 4) return { error: `SquashFS version ${major}.${minor} (only 4.x is read)` };
  const compressionId = buf.readUInt16LE(20);
  const flagBits = buf.readUInt16LE(24);
  const sb: SquashfsSuperblock = {
    inodes: buf.readUInt32LE(4),
    mkfsTime: buf.readUInt32LE(8),
    blockSize: buf.readUInt32LE(12),
    fragments: buf.readUInt32LE(16),
    compression: COMPRESSORS[compressionId] ?? `compressor-${compressionId}`,
    flags: FLAGS.filter(([bit]) => flagBits & bit).map(([, name]) => name),
    ids: buf.readUInt16LE(26),
    version: `${major}.${minor}`,
    bytesUsed: Number(buf.readBigUInt64LE(40)),
    noXattrTable: buf.readBigUInt64LE(56) === 0xffffffffffffffffn,
  };
  // Compressor options: a metadata block (2-byte header, uncompressed bit 0x8000) after the superblock.
  if (flagBits & 0x0400 && buf.length >= SUPERBLOCK_BYTES + 6) {
    const header = buf.readUInt16LE(SUPERBLOCK_BYTES);
    const uncompressed = (header & 0x8000) !== 0;
    const len = header & 0x7fff;
    if (uncompressed && len >= 4 && (sb.compression === 'zstd' || sb.compression === 'gzip')) {
      sb.compressionLevel = buf.readUInt32LE(SUPERBLOCK_BYTES + 2);
    }
  }
  return sb;
}

/** The superblock as name → value facts (what the report lists and diffs). */
export function superblockFacts(sb: SquashfsSuperblock): Record<string, string | number | boolean> {
  return {
    'squashfs.version': sb.version,
    'squashfs.compression': sb.compression,
    'squashfs.compression-level': sb.compressionLevel ?? 'default',
    'squashfs.block-size': sb.blockSize,
    'squashfs.mkfs-time': sb.mkfsTime,
    'squashfs.flags': sb.flags.join(',') || 'none',
    'squashfs.xattr-table': !sb.noXattrTable,
    'squashfs.inodes': sb.inodes,
    'squashfs.ids': sb.ids,
    'squashfs.fragments': sb.fragments,
    'squashfs.bytes-used': sb.bytesUsed,
  };
}
