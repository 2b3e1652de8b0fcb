import { randomBytes } from 'node:crypto';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a file so that readers see the old contents or the new, never half:
 * write a temporary file beside it, then rename over. A destination that is
 * a device, FIFO or socket (`--json /dev/null`, `--html >(…)`) is written
 * straight through instead: renaming over it would replace `/dev/null` itself
 * with a regular file when rebuild runs as root.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const existing = await stat(path).catch(() => undefined);
  if (existing && !existing.isFile()) {
    if (existing.isDirectory()) {
      throw Object.assign(new Error(`${path} is a directory, not a file to write`), { code: 'EISDIR' });
    }
    await writeFile(path, data);
    return;
  }
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, data, { flag: 'wx' });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
