import { constants } from 'node:fs';
import { lstat, mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { RebuildError } from './errors.js';

/**
 * The regular file at `rel` under `root`, reached without following any
 * symlink (a file a container or an archive made is the attacker's: a link
 * in any component could point the host anywhere). `missing` and `notFile`
 * say what to tell the user.
 */
export async function regularFileInside(
  root: string,
  rel: string,
  opts: { subject: string; missing: string; category?: 'upstream' | 'build' | 'input' },
): Promise<string> {
  const category = opts.category ?? 'upstream';
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..'))
    throw new RebuildError('input', `"${rel}" is not a relative path inside the tree`, {
      subject: opts.subject,
    });
  let cur = root;
  for (const [i, part] of parts.entries()) {
    cur = join(cur, part);
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(cur);
    } catch {
      throw new RebuildError(category, `${opts.missing}: "${rel}" does not exist`, { subject: opts.subject });
    }
    if (st.isSymbolicLink())
      throw new RebuildError(
        category,
        `"${parts.slice(0, i + 1).join('/')}" is a symlink; only regular files are taken`,
        {
          subject: opts.subject,
        },
      );
    if (i === parts.length - 1 && !st.isFile())
      throw new RebuildError(category, `"${rel}" is not a regular file`, { subject: opts.subject });
  }
  return cur;
}

/**
 * Writes `bytes` to `rel` under `root` (a tree a container wrote, with no
 * container running any more) without following any symlink: missing
 * directories are made one level at a time (mkdir never follows a link),
 * an existing component that is a symlink is refused, a file already there
 * is replaced, and the file is created exclusively with O_NOFOLLOW.
 */
export async function writeFileInside(
  root: string,
  rel: string,
  bytes: Uint8Array,
  opts: { subject: string; what: string },
): Promise<void> {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..'))
    throw new RebuildError('input', `"${rel}" is not a relative path inside the tree`, {
      subject: opts.subject,
    });
  const refuse = (at: string, why: string) =>
    new RebuildError('build', `refused to write ${opts.what}: "${at}" ${why}`, {
      subject: opts.subject,
      fix: 'the build script put something other than a plain directory or file there; inspect the recipe',
    });
  let cur = root;
  for (const [i, part] of parts.entries()) {
    cur = join(cur, part);
    const shown = parts.slice(0, i + 1).join('/');
    const last = i === parts.length - 1;
    const st = await lstat(cur).catch(() => undefined);
    if (!st) {
      if (!last) await mkdir(cur);
      continue;
    }
    if (st.isSymbolicLink()) throw refuse(shown, 'is a symlink');
    if (!last && !st.isDirectory()) throw refuse(shown, 'is not a directory');
    if (last) {
      if (!st.isFile()) throw refuse(shown, 'exists and is not a regular file');
      await unlink(cur);
    }
  }
  const fh = await open(
    cur,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o644,
  );
  try {
    await fh.writeFile(bytes);
  } finally {
    await fh.close();
  }
}
