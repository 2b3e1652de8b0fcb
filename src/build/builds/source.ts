/**
 * The source of a pkgforge/builds build, fetched as build.py fetches it:
 * exactly the pinned commit (`git fetch --depth 1 origin <commit>`, checked
 * with `rev-parse HEAD`), dated by the commit's timestamp; or a release
 * artifact pinned by SHA-256, unpacked by the bounded extractor and dated
 * by the recipe's `epoch`.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { execa } from 'execa';
import { extractTarSafely } from '../../engine/safe-extract.js';
import type { BuildsSource, PinnedDownload } from '../../recipe/toml/builds.js';
import { readBounded } from '../../upstream/http.js';
import { messageOf, RebuildError } from '../../util/errors.js';

export interface FetchedSource {
  dir: string;
  /** SOURCE_DATE_EPOCH. */
  epoch: number;
  /** The commit checked out (git sources). */
  commit?: string;
}

const GIT_ENV = {
  GIT_TERMINAL_PROMPT: '0',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  LC_ALL: 'C',
};

async function git(args: string[], cwd: string, signal?: AbortSignal): Promise<string> {
  const r = await execa('git', args, {
    cwd,
    env: GIT_ENV,
    reject: false,
    timeout: 30 * 60_000,
    cancelSignal: signal,
  });
  if (r.exitCode !== 0)
    throw new Error((r.stderr || r.stdout || `git ${args[0]} failed`).trim().split('\n').slice(-3).join(' '));
  return r.stdout.trim();
}

/** Fetches exactly `commit` from `url` into `dir`; anything else is refused before any build starts. */
export async function fetchPinnedCommit(
  url: string,
  commit: string,
  dir: string,
  signal?: AbortSignal,
): Promise<FetchedSource> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    await git(['init', '-q', '.'], dir, signal);
    await git(['remote', 'add', 'origin', url], dir, signal);
  } catch (err) {
    throw new RebuildError('environment', `git cannot prepare the checkout: ${messageOf(err)}`, {
      fix: 'install git',
    });
  }
  try {
    await git(['fetch', '-q', '--depth', '1', 'origin', commit], dir, signal);
  } catch (err) {
    throw new RebuildError(
      'input',
      `the pinned commit ${commit} cannot be fetched from ${url}: ${messageOf(err)}`,
      {
        subject: url,
        fix: 'the build.toml pins a commit the repository does not have: refused before building',
      },
    );
  }
  await git(['checkout', '-q', 'FETCH_HEAD'], dir, signal);
  const head = await git(['rev-parse', 'HEAD'], dir, signal);
  if (head !== commit)
    throw new RebuildError('input', `source commit mismatch: wanted ${commit}, got ${head}`, {
      subject: url,
      fix: 'refused before building: the repository served another commit',
    });
  const epoch = Number(await git(['show', '-s', '--format=%ct', 'HEAD'], dir, signal));
  return { dir, epoch, commit: head };
}

/** Downloads a file pinned by SHA-256 (build inputs: `[source] url`, `[[tool]]`) to a path rebuild owns. */
export async function fetchBySha256(
  d: Pick<PinnedDownload, 'url' | 'sha256'>,
  dest: string,
  maxBytes = 2 * 1024 ** 3,
): Promise<void> {
  await writeFile(dest, await downloadBySha256(d, maxBytes));
}

/** The bytes of a download pinned by SHA-256, checked (for `[[extra]]`, written by the caller). */
export async function downloadBySha256(
  d: Pick<PinnedDownload, 'url' | 'sha256'>,
  maxBytes = 2 * 1024 ** 3,
): Promise<Buffer> {
  let res: Response;
  try {
    res = await fetch(d.url, { signal: AbortSignal.timeout(300_000) });
  } catch (err) {
    throw new RebuildError('network', `cannot download ${d.url}: ${messageOf(err)}`);
  }
  if (!res.ok) throw new RebuildError('network', `${d.url} answers HTTP ${res.status}`);
  const bytes = await readBounded(res, maxBytes, d.url);
  const got = createHash('sha256').update(bytes).digest('hex');
  if (got !== d.sha256)
    throw new RebuildError('upstream', `hash mismatch for ${d.url}: want ${d.sha256}, got ${got}`, {
      fix: 'the pinned build input changed: refused before building',
    });
  return bytes;
}

export async function fetchSource(
  src: BuildsSource,
  dir: string,
  signal?: AbortSignal,
): Promise<FetchedSource> {
  if (src.kind === 'git') return fetchPinnedCommit(src.git, src.commit, dir, signal);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const archive = join(dir, '..', 'source-archive');
  await fetchBySha256(src, archive);
  const input = createReadStream(archive);
  const gz = input.pipe(createGunzip());
  input.on('error', (e) => gz.destroy(e));
  await extractTarSafely(gz, dir, { subject: src.url });
  await rm(archive, { force: true });
  return { dir, epoch: src.epoch };
}
