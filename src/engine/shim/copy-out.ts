import { PassThrough, type Readable, Transform } from 'node:stream';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import { runContainer } from '../container.js';
import type { Arch, ContainerLimits } from '../types.js';
import { HELPER_LABEL } from './freezer.js';
import { PolicyError } from './work-paths.js';

/** Bounds on one `docker cp` out of an inner container. */
export interface CopyLimits {
  /** Bytes of the archive the engine sends (default 8 GiB). */
  maxBytes: number;
  /** Entries in it (default 200,000). */
  maxEntries: number;
}

export const DEFAULT_COPY_LIMITS: CopyLimits = { maxBytes: 8 * 1024 ** 3, maxEntries: 200_000 };

/** An archive that sends nothing for this long is abandoned (a hang guard). */
const ARCHIVE_IDLE_MS = 120_000;

/** Where the helper sees the work directory. */
const WORK_MOUNT = '/w';
/** Where it unpacks the archive: a private volume on disk (an archive may be larger than memory). */
const STAGE = '/rebuild-stage';

/**
 * What the helper container runs: unpack the archive into its own private
 * volume (nothing the recipe can reach; the helper's root is read-only), drop setuid/setgid bits, then
 * copy it into the work directory with `docker cp`'s rules. Every path is
 * resolved by the helper's kernel inside the helper's root, so a link the
 * recipe planted in the work directory leads at worst into the helper's own
 * throw-away root file system, never to the host. Existing destination
 * files are removed before they are written (--remove-destination), never
 * opened: a FIFO planted there would block the helper, and with it every
 * frozen container, until the build's time limit.
 */
const HELPER_SCRIPT = String.raw`
set -eu
dest="$1"; base="$2"; mode="$3"
umask 022
tar -x --no-same-owner -C /rebuild-stage -f -
find /rebuild-stage \( -perm -4000 -o -perm -2000 \) -exec chmod ug-s {} + 2>/dev/null || true
src="/rebuild-stage/$base"
if [ ! -e "$src" ] && [ ! -L "$src" ]; then echo "the archive holds no $base" >&2; exit 1; fi
if [ "$mode" = contents ]; then
  [ -e "$dest" ] || mkdir -- "$dest"
  [ -d "$dest" ] || { echo "destination $dest is not a directory" >&2; exit 1; }
  cp -a --no-preserve=ownership --remove-destination -- "$src/." "$dest/"
elif [ -d "$dest" ]; then
  cp -a --no-preserve=ownership --remove-destination -- "$src" "$dest/"
elif [ -d "$src" ] && [ -e "$dest" ]; then
  echo "cannot overwrite non-directory $dest with a directory" >&2; exit 1
else
  cp -a --no-preserve=ownership --remove-destination -- "$src" "$dest"
fi
`;

export interface CopyOutRequest {
  docker: Docker;
  arch: Arch;
  /** A rebuild-built image with bash, tar and coreutils (the host-runner). */
  helperImage: string;
  /** The work directory on the host (a path the recipe cannot replace). */
  workHost: string;
  /** Destination relative to the work directory (lexical; `''` is the work directory). */
  destRel: string;
  /** Path inside the source container, as the recipe wrote it. */
  sourcePath: string;
  limits: ContainerLimits;
  copyLimits?: Partial<CopyLimits>;
  /**
   * Opens the source container's archive. Runs with the recipe's containers
   * frozen (the engine mounts the source's volumes to read it).
   */
  openArchive(): Promise<Readable>;
  /** Runs `fn` with the recipe's containers frozen: the whole copy, from the helper's start to its end. */
  frozen<T>(fn: () => Promise<T>): Promise<T>;
  signal?: AbortSignal;
}

/** The archive entry name docker gives the copied path (`.` for `dir/.` and `/`). */
export function archiveBase(sourcePath: string): { base: string; contentsOnly: boolean } {
  if (sourcePath.endsWith('/.') || sourcePath === '.') return { base: '.', contentsOnly: true };
  const trimmed = sourcePath.replace(/\/+$/, '');
  const base = trimmed.split('/').at(-1) ?? '';
  if (base === '' || base === '.') return { base: '.', contentsOnly: true };
  if (base === '..') throw new PolicyError(`cannot copy "${sourcePath}"`);
  return { base, contentsOnly: false };
}

/**
 * Carries out `docker cp <inner>:<path> <dest>` without the host touching
 * the work directory: the engine's archive of the inner container streams
 * into a helper container (same container policy as the others) that
 * unpacks and copies it. The archive is counted on the way (bytes and
 * entries) and the copy fails when it exceeds the limits. Returns the
 * helper's error output when it fails.
 */
export async function copyOut(req: CopyOutRequest): Promise<{ ok: true } | { ok: false; message: string }> {
  // The helper writes into the work directory where the recipe's archive says: for its whole life
  // (not only while the archive streams) nothing else may check a path there and have it mounted.
  return req.frozen(() => copyOutFrozen(req));
}

async function copyOutFrozen(req: CopyOutRequest): Promise<{ ok: true } | { ok: false; message: string }> {
  const lim = { ...DEFAULT_COPY_LIMITS, ...req.copyLimits };
  const { base, contentsOnly } = archiveBase(req.sourcePath);
  const stdin = new PassThrough();
  let limitError: string | undefined;
  const stderr: Buffer[] = [];
  let stderrBytes = 0;
  const helper = runContainer(req.docker, {
    image: req.helperImage,
    arch: req.arch,
    entrypoint: ['/bin/bash', '-c', HELPER_SCRIPT, 'rebuild-cp'],
    cmd: [
      req.destRel === '' ? WORK_MOUNT : `${WORK_MOUNT}/${req.destRel}`,
      base,
      contentsOnly ? 'contents' : 'item',
    ],
    mounts: [{ host: req.workHost, container: WORK_MOUNT }],
    // Its root is read-only: a link the recipe planted leads at worst to a file system the helper cannot write.
    readOnlyRoot: true,
    scratch: [STAGE],
    network: 'none',
    limits: req.limits,
    labels: { [HELPER_LABEL]: '1' },
    stdin,
    signal: req.signal,
    onOutput: (chunk) => {
      if (stderrBytes < 64 * 1024) stderr.push(chunk);
      stderrBytes += chunk.length;
    },
  });
  // The helper may fail before it reads everything: never leave the archive hanging.
  const helperDone = helper.finally(() => stdin.destroy());
  const streamed = (async () => {
    // A missing path or engine error: the helper then sees an empty stdin and stops.
    const archive = await req.openArchive().catch((err: unknown) => {
      stdin.destroy();
      throw err;
    });
    const counter = countingTransform(lim, (why) => {
      limitError = why;
      archive.destroy();
      stdin.destroy();
    });
    // A hang guard: an archive that stops flowing (its reader stuck) must not keep the recipe frozen.
    let idle: NodeJS.Timeout | undefined;
    const stalled = () => {
      limitError ??= `docker cp: the copy stalled (no data for ${ARCHIVE_IDLE_MS / 1000} s)`;
      archive.destroy();
      stdin.destroy();
    };
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(stalled, ARCHIVE_IDLE_MS);
    };
    touch();
    counter.on('data', touch);
    await new Promise<void>((resolve) => {
      // The helper already gave up (it failed to start): nothing will read the archive.
      if (stdin.destroyed) resolve();
      archive.on('close', resolve);
      archive.on('error', (err) => {
        limitError ??= `cannot read the container's archive: ${err.message}`;
        resolve();
      });
      stdin.on('close', resolve);
      archive.on('end', resolve);
      archive.pipe(counter).pipe(stdin);
    });
    clearTimeout(idle);
    archive.destroy();
  })();
  const [outcome, archived] = await Promise.all([
    helperDone,
    streamed.then(
      () => undefined,
      (err: unknown) => err,
    ),
  ]);
  if (archived !== undefined) throw archived;
  if (limitError) return { ok: false, message: limitError };
  if (outcome.exitCode !== 0) {
    const text = Buffer.concat(stderr).toString('utf8').trim();
    return { ok: false, message: text || `the copy helper exited with status ${outcome.exitCode}` };
  }
  return { ok: true };
}

/** Passes the archive through while counting its bytes and (parsing a copy) its entries. */
function countingTransform(lim: CopyLimits, fail: (why: string) => void): Transform {
  let bytes = 0;
  let entries = 0;
  let failed = false;
  const parser = tar.extract();
  parser.on('entry', (_header, stream, next) => {
    entries++;
    if (entries > lim.maxEntries && !failed) {
      failed = true;
      fail(`docker cp: the archive has more than ${lim.maxEntries} entries`);
    }
    stream.on('end', next);
    stream.resume();
  });
  parser.on('error', () => undefined);
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (bytes > lim.maxBytes && !failed) {
        failed = true;
        fail(`docker cp: the archive is larger than ${lim.maxBytes} bytes`);
        cb();
        return;
      }
      if (!failed) parser.write(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      parser.end(undefined);
      cb();
    },
  });
}
