/** sbuild's rename_icon: `<cmd>.DirIcon` → `<cmd>.png` / `<cmd>.svg`, chosen by the file's magic. */
import { posix } from 'node:path';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The name rename_icon gives a file, or undefined when it would not rename it. Pure. */
export function renamedIcon(path: string, head: Buffer): string | undefined {
  const base = posix.basename(path);
  if (!base.endsWith('.DirIcon') || base === '.DirIcon') return undefined;
  const cmd = base.slice(0, -'.DirIcon'.length);
  let ext: string | undefined;
  if (head.subarray(0, 8).equals(PNG)) ext = 'png';
  else if (
    head.subarray(0, 4).toString('latin1') === '<svg' ||
    head.subarray(0, 5).toString('latin1') === '<?xml'
  )
    ext = 'svg';
  if (!ext) return undefined;
  const dir = posix.dirname(path);
  return dir === '.' ? `${cmd}.${ext}` : `${dir}/${cmd}.${ext}`;
}
