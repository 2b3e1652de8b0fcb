/**
 * A host tool's `--version` answer, remembered for as long as the tool's
 * file stays the same. Starting mmdebstrap (Perl) only to print its version
 * cost 0.1–1 s of every warm build (measured by `npm run bench --
 * reverify`). The answer is kept beside the identity of the file that gave
 * it (resolved path, device, inode, size, modification and change times in
 * nanoseconds): an upgrade replaces the file (new inode, new change time),
 * and no one can set a change time back short of the clock, so a changed
 * tool is always asked again.
 */
import { accessSync, constants } from 'node:fs';
import { mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { writeJsonAtomic } from './atomic.js';
import { runTool } from './run-tool.js';

/**
 * Executable files named `name` in the directories of `path`, in order, as
 * written there (not resolved). Each directory is asked with a synchronous
 * access(): a lookup of three tools on an 11-entry PATH took 3 ms through the
 * thread pool (every miss a rejected promise) and 0.5 ms so.
 */
export async function* executablesOnPath(
  name: string,
  path: string | undefined = process.env.PATH,
): AsyncGenerator<string> {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue; // not here
    }
    yield candidate;
  }
}

/** The first executable regular file named `name` on PATH, resolved, or undefined. */
export async function findOnPath(name: string): Promise<string | undefined> {
  for await (const candidate of executablesOnPath(name)) {
    try {
      const real = await realpath(candidate);
      if ((await stat(real)).isFile()) return real;
    } catch {
      // gone since, or a broken link
    }
  }
  return undefined;
}

interface Remembered {
  identity: string;
  version: string;
}

/** A tool file's identity on disk: what changes when it is upgraded or replaced. */
export async function toolFileIdentity(path: string): Promise<string> {
  const st = await stat(path, { bigint: true });
  return [path, st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs].join(':');
}

/**
 * What `tool --version` prints (trimmed), from `cacheFile` when the tool is
 * the same file as when it was asked last; throws when the tool is not on
 * PATH or fails.
 */
export async function toolVersion(tool: string, cacheFile: string): Promise<string> {
  const path = await findOnPath(tool);
  if (!path) throw new Error(`${tool} is not on PATH`);
  const identity = await toolFileIdentity(path);
  const known = await readFile(cacheFile, 'utf8')
    .then((t) => JSON.parse(t) as Partial<Remembered>)
    .catch(() => undefined);
  if (known?.identity === identity && typeof known.version === 'string' && known.version)
    return known.version;
  const r = await runTool(path, ['--version'], { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new Error(`${tool} --version: ${r.failure ?? `exit ${r.exitCode}`}`);
  const version = r.stdout.trim();
  // Asked while the tool was being replaced: not remembered.
  if ((await toolFileIdentity(path)) === identity) {
    await mkdir(dirname(cacheFile), { recursive: true })
      .then(() => writeJsonAtomic(cacheFile, { identity, version } satisfies Remembered))
      .catch(() => undefined);
  }
  return version;
}
