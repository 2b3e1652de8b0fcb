import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { messageOf, RebuildError } from './errors.js';

/**
 * Flags for opening a file the user named: O_NONBLOCK so a FIFO or a
 * terminal cannot hang the open (the handle is checked to be a regular file
 * before anything is read), O_NOCTTY so a tty never becomes ours.
 */
export const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

function openError(path: string, err: unknown, what: string): RebuildError {
  const code = (err as NodeJS.ErrnoException).code;
  return new RebuildError(
    'input',
    code === 'ENOENT' ? 'no such file or directory' : `cannot read the ${what}: ${messageOf(err)}`,
    { subject: path, cause: err },
  );
}

function kindError(path: string, what: string, isDirectory: boolean): RebuildError {
  return new RebuildError(
    'input',
    isDirectory
      ? `is a directory, not a ${what}`
      : `is not a regular file (a FIFO, device or socket), not a ${what}`,
    { subject: path, fix: `name a regular ${what}` },
  );
}

function sizeError(path: string, what: string, size: number, max: number): RebuildError {
  return new RebuildError(
    'input',
    `is too large for a ${what} (${(size / 1048576).toFixed(1)} MiB; limit ${(max / 1048576).toFixed(0)} MiB)`,
    { subject: path },
  );
}

/** Reads a whole regular file of at most `maxBytes`, checked on the open handle (never a FIFO or device). */
export function readRegularFileSync(path: string, what: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') throw kindError(path, what, true);
    throw openError(path, err, what);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw kindError(path, what, st.isDirectory());
    if (st.size > maxBytes) throw sizeError(path, what, st.size, maxBytes);
    const buf = Buffer.alloc(st.size);
    let at = 0;
    while (at < buf.length) {
      const n = readSync(fd, buf, at, buf.length - at, at);
      if (n === 0) break;
      at += n;
    }
    return buf.subarray(0, at);
  } catch (err) {
    if (err instanceof RebuildError) throw err;
    throw openError(path, err, what);
  } finally {
    closeSync(fd);
  }
}

/** The async twin of readRegularFileSync. */
export async function readRegularFile(path: string, what: string, maxBytes: number): Promise<Buffer> {
  const handle = await open(path, OPEN_FLAGS).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') throw kindError(path, what, true);
    throw openError(path, err, what);
  });
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw kindError(path, what, st.isDirectory());
    if (st.size > maxBytes) throw sizeError(path, what, st.size, maxBytes);
    const buf = Buffer.alloc(st.size);
    let at = 0;
    while (at < buf.length) {
      const { bytesRead } = await handle.read(buf, at, buf.length - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return buf.subarray(0, at);
  } finally {
    await handle.close();
  }
}
