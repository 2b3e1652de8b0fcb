/**
 * The `.tar.gz` pkgforge/builds publishes, byte for byte as its `build.py`
 * writes it with CPython:
 *
 *   gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0)
 *     tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT)
 *       for path in sorted(stage.iterdir()):
 *         info = tf.gettarinfo(path, arcname=path.name)
 *         info.mtime = epoch; info.uid = info.gid = 0; info.uname = info.gname = ""
 *
 * The tar headers are written here because no tar library writes CPython's
 * GNU header: tar-stream writes the POSIX `ustar\0` `00` magic, six-digit
 * octal fields ending in a space, device numbers for regular files and no
 * padding to tarfile's 10240-byte record. The deflate stream comes from pako,
 * a line-by-line port of zlib's deflate: node:zlib is Chromium's zlib fork,
 * whose level-9 output differs from the zlib CPython links (checked in the
 * tests against python3 itself).
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import pako from 'pako';
import { RebuildError } from '../../util/errors.js';

/** One file of the stage directory, as `gettarinfo` sees it. */
export interface StageFile {
  /** The member name (the file's name in the stage: no directories). */
  name: string;
  /** Where its bytes are. */
  path: string;
  /** Permission bits (build.py sets 0755 for ELF files, 0644 for the rest). */
  mode: number;
  size: number;
}

const BLOCK = 512;
/** tarfile.RECORDSIZE: the archive is padded with NULs to a multiple of this. */
const RECORD = 20 * BLOCK;
const GNU_MAGIC = Buffer.from('ustar  \0', 'latin1');
const NAME_MAX = 100;

/** tarfile.stn: encode, truncate, pad with NULs. */
function stn(value: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  Buffer.from(value, 'utf8').copy(out, 0, 0, length);
  return out;
}

/** tarfile.itn for GNU_FORMAT: octal with a NUL, or base-256 when it does not fit. */
function itn(n: number, digits: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`tar number field out of range: ${n}`);
  if (n < 8 ** (digits - 1)) return Buffer.from(`${n.toString(8).padStart(digits - 1, '0')}\0`, 'latin1');
  const out = Buffer.alloc(digits);
  out[0] = 0o200;
  let v = BigInt(n);
  for (let i = digits - 1; i >= 1; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

interface HeaderFields {
  name: string;
  mode: number;
  size: number;
  mtime: number;
  /** `0` regular file, `L` GNU long name. */
  type: '0' | 'L';
}

/** tarfile.TarInfo._create_header with GNU magic, uid/gid 0 and empty owner names. */
function header(f: HeaderFields): Buffer {
  const buf = Buffer.concat([
    stn(f.name, 100),
    itn(f.mode & 0o7777, 8),
    itn(0, 8),
    itn(0, 8),
    itn(f.size, 12),
    itn(f.mtime, 12),
    Buffer.from('        ', 'latin1'),
    Buffer.from(f.type, 'latin1'),
    stn('', 100), // linkname
    GNU_MAGIC,
    stn('', 32), // uname
    stn('', 32), // gname
    stn('', 8), // devmajor: written only for device nodes
    stn('', 8), // devminor
    stn('', 155), // prefix
  ]);
  const padded = Buffer.alloc(BLOCK);
  buf.copy(padded);
  let sum = 0;
  for (const b of padded) sum += b;
  // "%06o\0" over the first seven bytes of the field; the eighth stays a space
  Buffer.from(`${sum.toString(8).padStart(6, '0')}\0`, 'latin1').copy(padded, 148);
  return padded;
}

/** The header block(s) of one member: a `././@LongLink` entry first when the name is longer than 100 bytes. */
export function memberHeader(name: string, mode: number, size: number, mtime: number): Buffer {
  const encoded = Buffer.from(name, 'utf8');
  const main = header({ name, mode, size, mtime, type: '0' });
  if (encoded.length <= NAME_MAX) return main;
  const payload = Buffer.concat([encoded, Buffer.from([0])]);
  const long = header({ name: '././@LongLink', mode: 0, size: payload.length, mtime: 0, type: 'L' });
  return Buffer.concat([long, payload, Buffer.alloc(padTo(payload.length, BLOCK)), main]);
}

function padTo(length: number, unit: number): number {
  const r = length % unit;
  return r === 0 ? 0 : unit - r;
}

/** `sorted(stage.iterdir())`: by name, in code point order (UTF-8 byte order). */
export function pythonSorted(files: readonly StageFile[]): StageFile[] {
  return [...files].sort((a, b) => Buffer.compare(Buffer.from(a.name, 'utf8'), Buffer.from(b.name, 'utf8')));
}

/**
 * CPython's gzip header for `GzipFile(fileobj=open(path, "wb"), compresslevel=9, mtime=0)`:
 * FNAME is the basename of the output file without `.gz`, XFL 2 (level 9), OS 255.
 */
export function gzipHeader(outputName: string): Buffer {
  let fname = basename(outputName);
  if (fname.endsWith('.gz')) fname = fname.slice(0, -3);
  // CPython writes no name when it is not Latin-1
  const latin1 = /^[\u0000-\u00ff]*$/.test(fname);
  const name =
    latin1 && fname.length > 0 ? Buffer.concat([Buffer.from(fname, 'latin1'), Buffer.from([0])]) : undefined;
  const fixed = Buffer.from([0x1f, 0x8b, 8, name ? 8 : 0, 0, 0, 0, 0, 2, 255]);
  return name ? Buffer.concat([fixed, name]) : fixed;
}

/** Streams tar bytes through pako's deflate into a file, keeping CRC-32 and length for the trailer. */
class GzipSink {
  private readonly deflate = new pako.Deflate({ level: 9, raw: true, windowBits: 15, memLevel: 8 });
  private pending: Uint8Array[] = [];
  private crc = 0;
  private length = 0;

  constructor(private readonly fh: FileHandle) {
    this.deflate.onData = (chunk: Uint8Array) => {
      this.pending.push(chunk);
    };
  }

  async start(outputName: string): Promise<void> {
    await this.fh.write(gzipHeader(outputName));
  }

  async write(data: Uint8Array): Promise<void> {
    if (data.length === 0) return;
    this.crc = crc32(data, this.crc);
    this.length = (this.length + data.length) % 2 ** 32;
    this.deflate.push(data, false);
    await this.drain();
  }

  async finish(): Promise<void> {
    this.deflate.push(new Uint8Array(0), true);
    if (this.deflate.err) throw new Error(`deflate failed: ${this.deflate.msg}`);
    await this.drain();
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.length >>> 0, 4);
    await this.fh.write(trailer);
  }

  private async drain(): Promise<void> {
    const chunks = this.pending;
    this.pending = [];
    for (const c of chunks) await this.fh.write(c);
  }
}

/**
 * Writes `outPath` as build.py does, atomically (a temporary file renamed
 * over). `epoch` is SOURCE_DATE_EPOCH, every member's mtime. A file whose
 * size changes while it is read is refused.
 */
export async function writeBuildsArchive(
  files: readonly StageFile[],
  epoch: number,
  outPath: string,
): Promise<void> {
  const tmp = join(dirname(outPath), `.${basename(outPath)}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w');
  let ok = false;
  try {
    const gz = new GzipSink(fh);
    await gz.start(outPath);
    let offset = 0;
    for (const f of pythonSorted(files)) {
      if (f.name.includes('/') || f.name === '' || f.name === '.' || f.name === '..')
        throw new RebuildError('input', `stage member name must be a plain file name: "${f.name}"`);
      const head = memberHeader(f.name, f.mode, f.size, epoch);
      await gz.write(head);
      offset += head.length;
      let read = 0;
      for await (const chunk of createReadStream(f.path, { highWaterMark: 1 << 20 })) {
        const buf = chunk as Buffer;
        read += buf.length;
        if (read > f.size) break;
        await gz.write(buf);
      }
      if (read !== f.size)
        throw new RebuildError('build', `${f.name} changed size while it was archived`, { subject: f.path });
      const pad = padTo(f.size, BLOCK);
      if (pad > 0) await gz.write(Buffer.alloc(pad));
      offset += f.size + pad;
    }
    // two zero blocks end the archive, then NULs up to a whole record (tarfile.close)
    const end = 2 * BLOCK + padTo(offset + 2 * BLOCK, RECORD);
    await gz.write(Buffer.alloc(end));
    await gz.finish();
    await fh.close();
    await rename(tmp, outPath);
    ok = true;
  } finally {
    if (!ok) {
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
    }
  }
}
