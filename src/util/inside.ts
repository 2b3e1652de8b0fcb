import { lstat } from 'node:fs/promises';
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
