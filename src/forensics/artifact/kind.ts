/**
 * What a file is, from its first bytes (never its name: a hostile artifact
 * chooses its name). Pure over the header buffer.
 */
import { open } from 'node:fs/promises';
import type { ArtifactKind, ContainerKind } from './types.js';

/** Bytes read to detect a kind: the tar magic sits at 257, text is judged on this much. */
export const DETECT_BYTES = 64 * 1024;

const startsWith = (buf: Buffer, bytes: readonly number[], at = 0) =>
  buf.length >= at + bytes.length && bytes.every((b, i) => buf[at + i] === b);

/** ELF magic; the AppImage type-2 magic `AI\x02` sits in e_ident's padding at offset 8. */
const ELF = [0x7f, 0x45, 0x4c, 0x46];
const APPIMAGE2 = [0x41, 0x49, 0x02];
const GZIP = [0x1f, 0x8b];
const XZ = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];
const ZIP_LOCAL = [0x50, 0x4b, 0x03, 0x04];
const ZIP_EMPTY = [0x50, 0x4b, 0x05, 0x06];
const USTAR = [0x75, 0x73, 0x74, 0x61, 0x72]; // "ustar" at 257 (POSIX and GNU)

/** The kind of a file whose first bytes are `head` (`complete`: head is the whole file). */
export function detectKind(head: Buffer, complete: boolean): ArtifactKind {
  if (startsWith(head, ELF)) return startsWith(head, APPIMAGE2, 8) ? 'appimage' : 'elf';
  if (startsWith(head, GZIP)) return 'tar.gz';
  if (startsWith(head, XZ)) return 'tar.xz';
  if (startsWith(head, ZSTD)) return 'tar.zst';
  if (startsWith(head, ZIP_LOCAL) || startsWith(head, ZIP_EMPTY)) return 'zip';
  if (startsWith(head, USTAR, 257)) return 'tar';
  return looksLikeText(head, complete) ? 'text' : 'binary';
}

function looksLikeText(head: Buffer, complete: boolean): boolean {
  if (head.includes(0)) return false;
  try {
    // A multi-byte character cut at the end of a partial read is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: !complete });
    return true;
  } catch {
    return false;
  }
}

export function isContainerKind(kind: ArtifactKind): kind is ContainerKind {
  return kind !== 'elf' && kind !== 'text' && kind !== 'binary';
}

/** The first `n` bytes of a file (fewer when it is shorter), and its size. */
export async function readHead(path: string, n: number): Promise<{ head: Buffer; size: number }> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const buf = Buffer.alloc(Math.min(n, size));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return { head: buf.subarray(0, bytesRead), size };
  } finally {
    await fh.close();
  }
}

/** Reads the head of a file and detects its kind. */
export async function detectFileKind(path: string): Promise<{ kind: ArtifactKind; size: number }> {
  const { head, size } = await readHead(path, DETECT_BYTES);
  return { kind: detectKind(head, head.length >= size), size };
}
