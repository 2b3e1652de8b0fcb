import { lchown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Gives a tree rebuild made (a source it fetched, before any container saw
 * it) to another owner, links included and never followed (lchown, lstat),
 * modes unchanged. Not for trees a container can already write.
 */
export async function chownTree(root: string, uid: number, gid: number): Promise<void> {
  const st = await lstat(root);
  await lchown(root, uid, gid);
  if (!st.isDirectory()) return;
  for (const name of await readdir(root)) await chownTree(join(root, name), uid, gid);
}
