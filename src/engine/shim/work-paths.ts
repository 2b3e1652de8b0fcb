import { constants } from 'node:fs';
import { type FileHandle, lstat, mkdir, open } from 'node:fs/promises';
import { join, posix } from 'node:path';

/** A path the recipe named that rebuild refuses (outside the work directory, a link, …). */
export class PolicyError extends Error {}

/**
 * The path, relative to the work directory, that a path named inside the
 * host-runner container means. Pure and lexical: nothing on the host is
 * resolved, so a link the recipe planted cannot redirect it. `''` is the
 * work directory itself.
 */
export function workRelative(path: string, cwd: string, root: string): string {
  if (!posix.isAbsolute(cwd)) throw new PolicyError(`the working directory "${cwd}" is not absolute`);
  if (path.includes('\0')) throw new PolicyError('a path holds a NUL byte');
  const inContainer = posix.resolve(cwd, path);
  if (!(inContainer === root || inContainer.startsWith(`${root}/`))) {
    throw new PolicyError(
      `"${path}" is outside the work directory ${root}; rebuild mounts and copies only work directories`,
    );
  }
  return posix.relative(root, inContainer);
}

/**
 * Checks that every component of `rel` below `workHost` is a real directory
 * (never a symlink), creating the missing ones one level at a time with a
 * plain mkdir (which never follows a link). Sound only while nothing else
 * can write the work directory: the shim calls it with every container
 * that can write there frozen.
 */
export async function realDirectoryBelow(
  workHost: string,
  rel: string,
  opts: { create: boolean },
): Promise<string> {
  let at = workHost;
  for (const part of rel === '' ? [] : rel.split('/')) {
    at = join(at, part);
    let st = await lstat(at).catch(() => undefined);
    if (!st) {
      if (!opts.create) throw new PolicyError(`"${rel}" does not exist in the work directory`);
      const made = await mkdir(at).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') throw err;
          return false;
        },
      );
      // Writable by the recipe's containers like $SBUILD_OUTDIR itself: under user-namespace remapping their
      // root is not the host's root. Changed through a handle that refuses a link (never by path).
      if (made) await openDirectoryNoFollow(at).then(async (fh) => fh.chmod(0o777).finally(() => fh.close()));
      st = await lstat(at);
    }
    if (st.isSymbolicLink()) {
      throw new PolicyError(
        `"${rel}" passes through the symlink "${posix.relative(workHost, at)}"; rebuild mounts only real directories of the work directory`,
      );
    }
    if (!st.isDirectory()) throw new PolicyError(`"${rel}": "${part}" is not a directory`);
  }
  return at;
}

function openDirectoryNoFollow(path: string): Promise<FileHandle> {
  return open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
}
