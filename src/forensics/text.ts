/** Whether a file is text: what the bytes route diffs as text, and what a report names a file's format. */
import type { ByteSource } from './elf/source.js';

/** Files larger than this are never read as text. */
export const MAX_TEXT = 8 << 20;

/** The file as text when it is valid UTF-8 without NUL bytes (and not huge). */
export async function readText(src: ByteSource): Promise<string | undefined> {
  if (src.size > MAX_TEXT) return undefined;
  const buf = await src.read(0, src.size);
  if (buf.includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return undefined;
  }
}

export async function isText(src: ByteSource): Promise<boolean> {
  return (await readText(src)) !== undefined;
}
