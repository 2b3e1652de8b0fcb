import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { isNoSpace, messageOf, noSpaceError, RebuildError } from '../util/errors.js';

/**
 * The host side of one build: a private work directory that containers see
 * (mounted), and a staging directory beside the final output directory that
 * becomes it in one rename, so an output directory is never half-written.
 */
export interface Workspace {
  root: string;
  /** Mounted as $SBUILD_OUTDIR (/sbuild). */
  sbuild: string;
  /** $SBUILD_TMPDIR on the host. */
  sbuildTemp: string;
  script: string;
  pkgverScript: string;
  /** Holds the docker shim's socket (host-runner builds). */
  shimDir: string;
  /** Becomes the output directory on success or on a build failure. */
  staging: string;
  outDir: string;
}

export async function createWorkspace(outDir: string): Promise<Workspace> {
  const out = resolve(outDir);
  await checkOutDir(out);
  const staging = join(dirname(out), `.${basename(out)}.partial-${randomBytes(8).toString('hex')}`);
  // The output side first: a read-only, full or pseudo file system is a clear error and leaves nothing.
  try {
    await mkdir(dirname(out), { recursive: true });
    await mkdir(staging);
  } catch (err) {
    throw outDirError(out, err);
  }
  let root: string | undefined;
  try {
    root = await mkdtemp(join(tmpdir(), 'rebuild-work-'));
    const ws: Workspace = {
      root,
      sbuild: join(root, 'sbuild'),
      sbuildTemp: join(root, 'sbuild', 'SBUILD_TEMP'),
      script: join(root, 'exec_script'),
      pkgverScript: join(root, 'exec_pkgver'),
      shimDir: join(root, 'shim'),
      staging,
      outDir: out,
    };
    await writeFile(join(root, OWNER_FILE), `${JSON.stringify({ pid: process.pid, staging })}\n`, {
      flag: 'wx',
    });
    await mkdir(ws.sbuildTemp, { recursive: true });
    await mkdir(ws.shimDir);
    // Builders may run as another user than root.
    await chmod(ws.sbuild, 0o777);
    await chmod(ws.sbuildTemp, 0o777);
    return ws;
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    if (root) await rm(root, { recursive: true, force: true });
    throw new RebuildError('environment', `cannot create a work directory: ${messageOf(err)}`, {
      subject: tmpdir(),
      fix: 'free space in the temporary directory, or point TMPDIR at a writable one',
      cause: err,
    });
  }
}

/** Errors of writing the output directory that are the user's choice of --out, not a bug. */
const OUT_DIR_ERRNOS: Record<string, string> = {
  EROFS: 'is on a read-only file system',
  EACCES: 'is not writable (permission denied)',
  EPERM: 'is not writable (operation not permitted)',
  ENOENT: 'cannot be created here',
  ENOTDIR: 'has a parent that is not a directory',
  EINVAL: 'cannot be created here (a pseudo file system such as /proc?)',
};

/**
 * A clear error for an output directory that cannot be written: a usage
 * error (exit 3) when another --out would do, an environment error (exit 5)
 * naming the directory when its file system is full; other errors are
 * passed on unchanged.
 */
export function outDirError(out: string, err: unknown): unknown {
  if (err instanceof RebuildError) return err;
  if (isNoSpace(err)) return noSpaceError(dirname(out), err, out);
  const code = (err as NodeJS.ErrnoException)?.code;
  const why = code ? OUT_DIR_ERRNOS[code] : undefined;
  if (!why || err instanceof RebuildError) return err;
  return new RebuildError('usage', `the output directory ${why} (${code})`, {
    subject: out,
    fix: 'choose another --out',
    cause: err,
  });
}

export async function writeScript(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o755 });
}

/** Marker that makes a directory recognisably rebuild's, so it may be replaced. */
export const RESULT_FILE = 'result.json';

/**
 * An existing output directory is replaced only when it is empty or holds a
 * previous rebuild result: rebuild never deletes a directory it did not make.
 */
export async function checkOutDir(out: string): Promise<void> {
  const st = await lstat(out).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) {
    throw new RebuildError('usage', 'exists and is not a directory', {
      subject: out,
      fix: 'choose another --out',
    });
  }
  const entries = await readdir(out);
  if (entries.length > 0 && !entries.includes(RESULT_FILE)) {
    throw new RebuildError(
      'usage',
      'exists, is not empty and holds no rebuild result; refusing to replace it',
      {
        subject: out,
        fix: 'choose another --out, or empty the directory',
      },
    );
  }
}

/** Moves the staging directory into place, replacing a previous result. */
export async function publishStaging(ws: Workspace): Promise<void> {
  await checkOutDir(ws.outDir);
  const old = `${ws.staging}.old`;
  const hadOld = await lstat(ws.outDir).then(
    () => true,
    () => false,
  );
  if (hadOld) await rename(ws.outDir, old);
  await rename(ws.staging, ws.outDir);
  if (hadOld) await rm(old, { recursive: true, force: true });
}

export async function removeWorkspace(ws: Workspace, opts: { keepWork?: boolean } = {}): Promise<void> {
  await rm(ws.staging, { recursive: true, force: true });
  if (!opts.keepWork) await rm(ws.root, { recursive: true, force: true });
}

/** Written into every work directory: which process owns it and which staging directory it fills. */
const OWNER_FILE = 'owner.json';

/**
 * Removes the work and staging directories of rebuild runs that were killed
 * (SIGKILL, power loss) and can no longer clean up after themselves. Only
 * directories whose owner process is gone, and only once no container uses
 * them (`removeContainers` says which still do), so nothing can write them
 * while they are removed. Returns what was removed.
 */
export async function reapWorkspaces(
  removeContainers: (dir: string) => Promise<{ stillThere: string[] }>,
  isAlive: (pid: number) => boolean,
): Promise<string[]> {
  const removed: string[] = [];
  const base = tmpdir();
  const names = await readdir(base).catch(() => [] as string[]);
  for (const name of names.filter((n) => /^rebuild-work-[A-Za-z0-9]{6}$/.test(n))) {
    const root = join(base, name);
    const st = await lstat(root).catch(() => undefined);
    if (!st?.isDirectory() || st.uid !== process.getuid?.()) continue;
    const owner = await readFile(join(root, OWNER_FILE), 'utf8')
      .then((t) => JSON.parse(t) as { pid?: unknown; staging?: unknown })
      .catch(() => undefined);
    if (!owner || typeof owner.pid !== 'number' || isAlive(owner.pid)) continue;
    if ((await removeContainers(root)).stillThere.length > 0) continue;
    if (typeof owner.staging === 'string' && /\.partial-[0-9a-f]+$/.test(owner.staging)) {
      const partial = await lstat(owner.staging).catch(() => undefined);
      if (partial?.isDirectory()) {
        await rm(owner.staging, { recursive: true, force: true });
        removed.push(owner.staging);
      }
    }
    await rm(root, { recursive: true, force: true });
    removed.push(root);
  }
  return removed;
}
