/**
 * Random-access byte sources for the ELF reader: a Buffer (tests, small
 * files) or a file read with small positioned reads, so memory stays bounded
 * however large the file is. Every read is bounds-checked by the caller; the
 * source itself refuses reads past its end.
 */
import { constants } from 'node:fs';
import { type FileHandle, mkdtemp, open, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNoSpace, messageOf, RebuildError } from '../../util/errors.js';
import { othersMayWrite } from './who-may-write.js';

export interface ByteSource {
  /** The file's path (or a label), for error messages. */
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes at `offset`; the caller checks the range first. */
  read(offset: number, length: number): Promise<Buffer>;
  /** Reads into `buf[0..length)`; returns bytes read. */
  readInto(buf: Buffer, offset: number, length: number): Promise<number>;
  close(): Promise<void>;
  /**
   * True only when `[offset, offset+length)` of this source is, by
   * construction, read from `other` at `otherOffset` (a plan's range of its
   * own input): the same bytes, so a comparison need not read them.
   */
  sameBytes?(offset: number, length: number, other: ByteSource, otherOffset: number): boolean;
}

export class BufferSource implements ByteSource {
  readonly size: number;
  constructor(
    private readonly buf: Buffer,
    readonly name = '<buffer>',
  ) {
    this.size = buf.length;
  }
  async read(offset: number, length: number): Promise<Buffer> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`read ${offset}+${length} past ${this.size}`);
    }
    return this.buf.subarray(offset, offset + length);
  }
  async readInto(buf: Buffer, offset: number, length: number): Promise<number> {
    const n = Math.max(0, Math.min(length, this.size - offset));
    this.buf.copy(buf, 0, offset, offset + n);
    return n;
  }
  async close(): Promise<void> {}
}

export class FileSource implements ByteSource {
  /** Why the file is read from a private copy of it (see privateCopy), when it is. */
  copiedBecause?: string;
  /** Removes the private copy, for one. */
  private removeCopy?: () => Promise<void>;

  private constructor(
    /** The open file every read goes to (the hash pass reads it too, never the path again). */
    readonly handle: FileHandle,
    readonly name: string,
    readonly size: number,
    /** Its change time at the open (ns): see unchanged. */
    private readonly ctimeNs: bigint,
  ) {}

  /**
   * A copy of `of`, read once from its open handle into a file only this
   * process's user can read or write (in a fresh directory of `dir`), and
   * read from then on under `of`'s name: every later read (the hash pass,
   * the analysis) sees the bytes of that one read. Closing the copy removes
   * it; `of` is closed by its owner.
   */
  static async privateCopy(of: FileSource, why: string, dir: string = tmpdir()): Promise<FileSource> {
    const fix = 'compare a copy of the file that nothing else writes to';
    let place: string;
    try {
      place = await mkdtemp(join(dir, 'rebuild-copy-'));
    } catch (err) {
      throw new RebuildError('environment', `cannot make a private copy to compare: ${messageOf(err)}`, {
        subject: dir,
        fix: 'set TMPDIR to a writable directory with room for the file',
        cause: err,
      });
    }
    const path = join(place, 'copy');
    const remove = () => rm(place, { recursive: true, force: true });
    let out: FileHandle | undefined;
    try {
      out = await open(path, 'wx', 0o600);
      const buf = Buffer.allocUnsafe(1 << 20);
      let at = 0;
      while (at < of.size) {
        const { bytesRead } = await of.handle.read(buf, 0, Math.min(buf.length, of.size - at), at);
        if (bytesRead === 0) {
          throw new RebuildError('input', 'the file changed while it was being copied: it ended early', {
            subject: of.name,
            fix,
          });
        }
        for (let done = 0; done < bytesRead; ) {
          done += (await out.write(buf, done, bytesRead - done, at + done)).bytesWritten;
        }
        at += bytesRead;
      }
      if ((await of.handle.read(Buffer.alloc(1), 0, 1, at)).bytesRead > 0) {
        throw new RebuildError('input', 'the file changed while it was being copied: it grew', {
          subject: of.name,
          fix,
        });
      }
      await out.close();
      out = undefined;
      const handle = await open(path, constants.O_RDONLY);
      const st = await handle.stat({ bigint: true });
      const copy = new FileSource(handle, of.name, of.size, st.ctimeNs);
      copy.copiedBecause = why;
      copy.removeCopy = remove;
      return copy;
    } catch (err) {
      await out?.close().catch(() => undefined);
      await remove();
      if (isNoSpace(err)) {
        throw new RebuildError('environment', 'no room for a private copy to compare', {
          subject: dir,
          fix: 'free space there, or set TMPDIR to a directory with room for the file',
          cause: err,
        });
      }
      throw err;
    }
  }

  /**
   * Whether nothing was written to the file since it was opened: a streamed
   * file is read more than once (hash pass, analysis), and a write between
   * them would have the verdict and the hashes be of different bytes.
   */
  async unchanged(): Promise<boolean> {
    const st = await this.handle.stat({ bigint: true });
    return st.ctimeNs === this.ctimeNs && st.size === BigInt(this.size);
  }

  static async open(path: string): Promise<FileSource> {
    let handle: FileHandle;
    try {
      // O_NONBLOCK: a FIFO must not hang the open (the handle is checked to be a regular file below).
      handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      throw new RebuildError('input', `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
        subject: path,
        cause: err,
      });
    }
    try {
      const st = await handle.stat({ bigint: true });
      if (!st.isFile()) {
        throw new RebuildError('input', 'not a regular file', { subject: path });
      }
      return new FileSource(handle, path, Number(st.size), st.ctimeNs);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`read ${offset}+${length} past ${this.size}`);
    }
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) {
        throw new RebuildError('input', `file shrank while being read (at offset ${offset + done})`, {
          subject: this.name,
        });
      }
      done += bytesRead;
    }
    return buf;
  }

  async readInto(buf: Buffer, offset: number, length: number): Promise<number> {
    let done = 0;
    const want = Math.max(0, Math.min(length, this.size - offset));
    while (done < want) {
      const { bytesRead } = await this.handle.read(buf, done, want - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  async close(): Promise<void> {
    try {
      await this.handle.close();
    } finally {
      await this.removeCopy?.();
    }
  }
}

/**
 * Streams `[offset, offset+length)` in chunks of at most `chunk` bytes. The
 * next chunk is read while the caller works on this one (two buffers, in
 * turn): a chunk stays valid until the caller asks for the next.
 */
export async function* chunks(
  src: ByteSource,
  offset: number,
  length: number,
  chunk = 1 << 20,
): AsyncGenerator<Buffer> {
  const size = Math.min(chunk, Math.max(1, length));
  const bufs = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(length > size ? size : 1)];
  const readAt = (i: number, pos: number) => {
    const n = Math.min(size, length - pos);
    return src.readInto(bufs[i % 2]!, offset + pos, n).then((got) => ({ got, n }));
  };
  let pos = 0;
  let i = 0;
  let pending = length > 0 ? readAt(0, 0) : undefined;
  // A read started ahead and never awaited (the caller stopped early) must not go unhandled.
  pending?.catch(() => undefined);
  try {
    while (pending) {
      const { got, n } = await pending;
      if (got !== n) {
        throw new RebuildError('input', `unexpected end of file at offset ${offset + pos + got}`, {
          subject: src.name,
        });
      }
      const next = pos + n < length ? readAt(i + 1, pos + n) : undefined;
      next?.catch(() => undefined);
      pending = undefined;
      yield bufs[i % 2]!.subarray(0, n);
      pending = next;
      pos += n;
      i++;
    }
  } finally {
    // Let a read still in flight finish before the buffers can be reused by anyone.
    await pending?.catch(() => undefined);
  }
}

/**
 * Files up to this size are read once into memory for a comparison (thousands
 * of small reads become none). Both sides may be held at once: at 64 MiB a
 * pair of 50 MB files took the process to 160 MB; at 16 MiB it stays near 80.
 */
export const IN_MEMORY_LIMIT = 16 << 20;

/**
 * Opens a file for comparison: read whole when it is small enough (one read,
 * then every positioned read is a slice), else positioned reads on a handle,
 * so memory stays bounded however large the file.
 */
export async function openSource(
  path: string,
): Promise<ByteSource & { close(): Promise<void>; bytes?: Buffer }> {
  const f = await FileSource.open(path);
  if (f.size > IN_MEMORY_LIMIT) {
    // Read more than once (hash pass, analysis): from a private copy when others may write it.
    let why: string | undefined;
    try {
      const st = await f.handle.stat({ bigint: true });
      // The file system of the open file itself (not of whatever the path names by now).
      const fs = await statfs(`/proc/self/fd/${f.handle.fd}`, { bigint: true });
      why = othersMayWrite({ uid: st.uid, mode: st.mode, fsType: fs.type }, process.getuid?.() ?? -1);
    } catch (err) {
      await f.close();
      throw new RebuildError('input', `cannot tell who may write to it: ${messageOf(err)}`, {
        subject: path,
        cause: err,
      });
    }
    if (!why) return f;
    try {
      return await FileSource.privateCopy(f, why);
    } finally {
      await f.close();
    }
  }
  try {
    const bytes = Buffer.allocUnsafe(f.size);
    const n = await f.readInto(bytes, 0, f.size);
    // More bytes than its size says: a file that grew, or one whose size lies (/proc, sysfs);
    // its bytes are not those stat promised, so neither hash nor verdict would be of the file.
    if (n === f.size && (await f.handle.read(Buffer.alloc(1), 0, 1, f.size)).bytesRead > 0) {
      throw new RebuildError(
        'input',
        'the file holds more bytes than its size says (it grew, or is not a plain file on disk)',
        {
          subject: path,
          fix: 'copy the file to a regular file first, and compare the copy',
        },
      );
    }
    const whole = n === f.size ? bytes : bytes.subarray(0, n);
    return Object.assign(new BufferSource(whole, path), { bytes: whole });
  } finally {
    await f.close();
  }
}
