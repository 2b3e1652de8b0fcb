/**
 * Evidence bundles: one self-contained `.tar.gz` a maintainer can check and
 * replay — the verdict document, the reports, the recipe of record, the
 * digests of the published and rebuilt files and where they came from, the
 * build log, every input needed to replay, the signed statement when there is
 * one, and a README for whoever receives it.
 *
 * Deterministic: the same output directory makes the same bytes (entries
 * sorted, mtimes fixed to the verification's start, owners 0, gzip header
 * mtime 0), so two bundles of one run can be compared by hash.
 *
 * The output directory holds files a hostile recipe produced: every file is
 * opened without following links, must be a regular file, and is size-capped.
 */

import { randomBytes } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { type FileHandle, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { sha256Hex } from '../hash/digest.js';
import { messageOf, RebuildError } from '../util/errors.js';
import type { VerifyResult } from '../verify/types.js';

export const BUNDLE_SCHEMA = 'rebuild.evidence/1';
export const ATTESTATION_FILE = 'attestation.intoto.jsonl';
/** Every entry of a bundle sits under this folder. */
export const BUNDLE_ROOT = 'evidence';

export interface BundleLimits {
  /** A text entry (log, report) larger than this keeps its last bytes, with a note. */
  maxTextBytes: number;
  /** A binary larger than this is referenced by digest, even with --with-binaries. */
  maxBinaryBytes: number;
}

export const DEFAULT_BUNDLE_LIMITS: BundleLimits = {
  maxTextBytes: 4 * 1024 * 1024,
  maxBinaryBytes: 512 * 1024 * 1024,
};

export interface BundleEntry {
  /** Path inside the bundle, below BUNDLE_ROOT. */
  name: string;
  bytes: Buffer;
  /** Where it came from in the output directory, or `generated`. */
  from: string;
  truncated?: { originalSize: number };
}

export interface BundleManifest {
  schema: typeof BUNDLE_SCHEMA;
  verdict: VerifyResult['verdict'];
  summary: string;
  package: VerifyResult['package'];
  /** Every other entry with its sha256 and size. */
  entries: {
    name: string;
    sha256: string;
    size: number;
    from: string;
    truncated?: { originalSize: number };
  }[];
  /** Files referenced, not embedded: where to get them and what they must hash to. */
  referenced: { name: string; sha256: string; blake3: string; size: number; source: string }[];
}

async function openNoFollow(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/**
 * Reads a regular file without following a link, keeping at most `max` bytes
 * (the last ones, when `tail`), or undefined when there is no such regular file.
 */
export async function readRegular(
  path: string,
  max: number,
  tail = false,
): Promise<{ bytes: Buffer; size: number } | undefined> {
  const fh = await openNoFollow(path);
  if (!fh) return undefined;
  try {
    const st = await fh.stat();
    if (!st.isFile()) return undefined;
    const keep = Math.min(st.size, max);
    const bytes = Buffer.alloc(keep);
    const from = tail ? st.size - keep : 0;
    let got = 0;
    while (got < keep) {
      const { bytesRead } = await fh.read(bytes, got, keep - got, from + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return { bytes: bytes.subarray(0, got), size: st.size };
  } finally {
    await fh.close();
  }
}

/** Regular files directly in a directory (no links, no descent), sorted. */
async function regularFilesIn(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isFile())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

function readmeFor(result: VerifyResult, attested: boolean, withBinaries: boolean): string {
  const pkg = result.package;
  return [
    `rebuild evidence bundle — ${pkg.pkg} ${pkg.version} (${pkg.arch}, ${pkg.repo})`,
    '',
    `Verdict: ${result.verdict.toUpperCase()}`,
    `  ${result.summary}`,
    '',
    `Published ${result.published.name}: sha256 ${result.published.sha256}`,
    ...(result.rebuilt ? [`Rebuilt   ${result.rebuilt.name}: sha256 ${result.rebuilt.sha256}`] : []),
    '',
    'What is in here',
    '  result.json        the verdict document (schema rebuild.verify/1): verdict, explanations or',
    '                     differing regions, every input of the rebuild',
    '  report.md/.html    the same for people; compare/ holds the forensic report when bytes differ',
    '  recipe/            the recipe of record exactly as it was built (its sha256 is in result.json)',
    '  published/         the small files of record (log, version, CHECKSUM) as fetched',
    "  build/build.log    the rebuild's log (the last bytes when it was long; see MANIFEST.json)",
    '  inputs.json        what `rebuild replay` needs: artifact digest, pins, builder image digests,',
    '                     emulator, network, limits, post-processing',
    '  digests.json       sha256/BLAKE3 of the published and rebuilt files and where they came from',
    `  ${ATTESTATION_FILE} ${attested ? 'the signed in-toto statement (DSSE, Ed25519)' : '(absent: this bundle was not signed)'}`,
    '  MANIFEST.json      sha256 of every entry above',
    withBinaries ? '  binaries/          the published and rebuilt files themselves' : '',
    '',
    'How to check it',
    attested
      ? '  rebuild attest verify THIS.tar.gz --key AUDITOR.pub    # the signature, and that result.json is the one signed'
      : '  (unsigned: ask the auditor for a signed bundle: rebuild evidence OUT --key KEY)',
    '  rebuild replay THIS.tar.gz                              # rebuild again; says whether the verdict is the same',
    '',
    withBinaries
      ? ''
      : 'The binaries are not embedded: digests.json says where each came from and what it must hash to.',
    '',
  ]
    .filter((l, i, all) => !(l === '' && all[i - 1] === ''))
    .join('\n');
}

export interface CollectOptions {
  withBinaries?: boolean;
  limits?: BundleLimits;
}

/**
 * The result.json of an output directory, as its bytes (what gets signed and
 * bundled) and as a verification result (schema checked). Bounded, no links.
 */
export async function readResultOf(
  outDir: string,
): Promise<{ result: VerifyResult; bytes: Buffer; path: string }> {
  const path = join(outDir, 'result.json');
  const raw = await readRegular(path, 64 * 1024 * 1024);
  if (!raw) {
    throw new RebuildError('input', 'no result.json here', {
      subject: outDir,
      fix: 'give the output directory of `rebuild <pkg>` (or its result.json)',
    });
  }
  let result: VerifyResult;
  try {
    result = JSON.parse(raw.bytes.toString('utf8')) as VerifyResult;
  } catch (err) {
    throw new RebuildError('input', `result.json is not JSON: ${messageOf(err)}`, { subject: path });
  }
  if (result?.schema !== 'rebuild.verify/1') {
    throw new RebuildError('input', `not a verification result (schema ${String(result?.schema)})`, {
      subject: path,
      fix: 'give the result of `rebuild <pkg>` (schema rebuild.verify/1)',
    });
  }
  return { result, bytes: raw.bytes, path };
}

/** Everything a bundle holds, read from an output directory. */
export async function collectEvidence(
  outDir: string,
  opts: CollectOptions = {},
): Promise<{ result: VerifyResult; entries: BundleEntry[]; manifest: BundleManifest }> {
  const limits = opts.limits ?? DEFAULT_BUNDLE_LIMITS;
  const { result, bytes } = await readResultOf(outDir);
  const entries: BundleEntry[] = [{ name: 'result.json', bytes, from: 'result.json' }];
  const add = async (rel: string, name: string, kind: 'text' | 'binary') => {
    const max = kind === 'text' ? limits.maxTextBytes : limits.maxBinaryBytes;
    const got = await readRegular(join(outDir, rel), max, kind === 'text');
    if (!got) return false;
    if (kind === 'binary' && got.size > max) return false;
    entries.push({
      name,
      bytes: got.bytes,
      from: rel,
      ...(got.size > got.bytes.length ? { truncated: { originalSize: got.size } } : {}),
    });
    return true;
  };
  await add('report.md', 'report.md', 'text');
  await add('report.html', 'report.html', 'text');
  await add(ATTESTATION_FILE, ATTESTATION_FILE, 'text');
  await add(join('published', 'SBUILD'), join('recipe', 'SBUILD'), 'text');
  const mainName = result.published.name;
  for (const name of await regularFilesIn(join(outDir, 'published'))) {
    if (name === 'SBUILD' || name === mainName) continue;
    await add(join('published', name), join('published', name), 'text');
  }
  await add(join('build', 'build.log'), join('build', 'build.log'), 'text');
  await add(join('build', 'result.json'), join('build', 'result.json'), 'text');
  for (const name of await regularFilesIn(join(outDir, 'build', 'compare'))) {
    if (/\.(html|md|json|txt)$/.test(name))
      await add(join('build', 'compare', name), join('compare', name), 'text');
  }

  const referenced: BundleManifest['referenced'] = [];
  const source = result.inputs.manifestDigest
    ? `oci://${result.inputs.record.ghcrPkg}@${result.inputs.manifestDigest}`
    : result.published.source;
  const pub = result.published;
  if (pub.sha256) {
    const embedded =
      opts.withBinaries &&
      (await add(join('published', mainName), join('binaries', 'published', mainName), 'binary'));
    if (!embedded)
      referenced.push({
        name: `published/${mainName}`,
        sha256: pub.sha256,
        blake3: pub.blake3,
        size: pub.size,
        source,
      });
  }
  for (const out of result.build?.outputs ?? []) {
    const embedded =
      opts.withBinaries &&
      (await add(join('build', out.name), join('binaries', 'rebuilt', out.name), 'binary'));
    if (!embedded) {
      referenced.push({
        name: `rebuilt/${out.name}`,
        sha256: out.sha256,
        blake3: out.blake3,
        size: out.size,
        source: `rebuild replay (recipe sha256 ${result.inputs.recipe.digest || 'unknown'})`,
      });
    }
  }

  const build = result.build;
  const inputs = {
    schema: 'rebuild.evidence.inputs/1',
    verify: result.inputs,
    build: build
      ? {
          image: build.inputs.image,
          innerImages: build.inputs.innerImages,
          emulator: build.inputs.emulator,
          pkgver: build.inputs.pkgver,
          network: build.inputs.network,
          limits: build.inputs.limits,
          engine: build.inputs.engine,
          postProcessing: build.postProcessing,
        }
      : undefined,
  };
  const digests = {
    schema: 'rebuild.evidence.digests/1',
    published: {
      name: pub.name,
      sha256: pub.sha256,
      blake3: pub.blake3,
      size: pub.size,
      source: pub.source,
      metadata: { shasumOk: pub.shasumOk, bsumOk: pub.bsumOk },
      filesOfRecord: result.inputs.files ?? {},
    },
    rebuilt: (build?.outputs ?? []).map((o) => ({
      name: o.name,
      sha256: o.sha256,
      blake3: o.blake3,
      size: o.size,
    })),
  };
  const json = (v: unknown) => Buffer.from(`${JSON.stringify(v, null, 2)}\n`);
  entries.push({ name: 'inputs.json', bytes: json(inputs), from: 'generated' });
  entries.push({ name: 'digests.json', bytes: json(digests), from: 'generated' });
  const attested = entries.some((e) => e.name === ATTESTATION_FILE);
  entries.push({
    name: 'README.txt',
    bytes: Buffer.from(readmeFor(result, attested, Boolean(opts.withBinaries))),
    from: 'generated',
  });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const manifest: BundleManifest = {
    schema: BUNDLE_SCHEMA,
    verdict: result.verdict,
    summary: result.summary,
    package: result.package,
    entries: entries.map((e) => ({
      name: e.name,
      sha256: sha256Hex(e.bytes),
      size: e.bytes.length,
      from: e.from,
      ...(e.truncated ? { truncated: e.truncated } : {}),
    })),
    referenced,
  };
  return { result, entries, manifest };
}

/** The fixed mtime of every entry: the verification's start (epoch 0 if unreadable). */
function bundleTime(result: VerifyResult): Date {
  const t = Date.parse(result.startedAt);
  return new Date(Number.isNaN(t) ? 0 : Math.floor(t / 1000) * 1000);
}

/** Writes the bundle atomically (a temporary file beside it, renamed over). */
export async function writeBundle(
  path: string,
  evidence: Awaited<ReturnType<typeof collectEvidence>>,
): Promise<{ path: string; sha256: string; size: number }> {
  const mtime = bundleTime(evidence.result);
  const pack = tar.pack();
  const all: BundleEntry[] = [
    ...evidence.entries,
    {
      name: 'MANIFEST.json',
      bytes: Buffer.from(`${JSON.stringify(evidence.manifest, null, 2)}\n`),
      from: 'generated',
    },
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.partial`);
  const done = (async () => {
    for (const e of all) {
      await new Promise<void>((resolve, reject) =>
        pack.entry(
          {
            name: `${BUNDLE_ROOT}/${e.name}`,
            size: e.bytes.length,
            mode: 0o644,
            mtime,
            uid: 0,
            gid: 0,
            uname: '',
            gname: '',
            type: 'file',
          },
          e.bytes,
          (err) => (err ? reject(err) : resolve()),
        ),
      );
    }
    pack.finalize();
  })();
  try {
    await Promise.all([
      done,
      pipeline(
        pack as unknown as NodeJS.ReadableStream,
        createGzip({ level: 9 }),
        createWriteStream(tmp, { flags: 'wx', mode: 0o644 }),
      ),
    ]);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new RebuildError('input', `cannot write the bundle: ${messageOf(err)}`, {
      subject: path,
      fix: 'choose a writable place with -o FILE',
    });
  }
  const written = await readRegular(path, DEFAULT_BUNDLE_LIMITS.maxBinaryBytes * 4);
  const sha256 = written ? sha256Hex(written.bytes) : '';
  return { path, sha256, size: written?.size ?? 0 };
}

export interface ReadBundleLimits {
  maxEntries: number;
  maxEntryBytes: number;
  maxTotalBytes: number;
}

const READ_LIMITS: ReadBundleLimits = {
  maxEntries: 10_000,
  maxEntryBytes: 600 * 1024 * 1024,
  maxTotalBytes: 2 * 1024 * 1024 * 1024,
};

const SAFE_NAME = /^[A-Za-z0-9._+@-]+(\/[A-Za-z0-9._+@-]+)*$/;

/**
 * Reads a bundle someone sent (hostile input): regular entries only, under
 * BUNDLE_ROOT, with plain relative names, bounded in count and size; kept in
 * memory, never written out.
 */
export async function readBundle(
  path: string,
  limits: ReadBundleLimits = READ_LIMITS,
): Promise<Map<string, Buffer>> {
  const fh = await openNoFollow(path);
  if (!fh) throw new RebuildError('input', 'no such bundle (or it is a link)', { subject: path });
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new RebuildError('input', 'not a regular file', {
      subject: path,
      fix: 'give the .tar.gz that `rebuild evidence` wrote',
    });
  }
  const entries = new Map<string, Buffer>();
  let total = 0;
  const fail = (message: string) =>
    new RebuildError('input', `not a usable evidence bundle: ${message}`, {
      subject: path,
      fix: 'give the .tar.gz that `rebuild evidence` wrote',
    });
  const source = fh.createReadStream({ autoClose: false });
  const gunzip = createGunzip();
  const extract = tar.extract();
  try {
    await new Promise<void>((resolve, reject) => {
      let stopped = false;
      // The first failure wins; every stream is torn down and later errors are ignored.
      const stop = (err: unknown) => {
        if (stopped) return;
        stopped = true;
        source.destroy();
        gunzip.destroy();
        extract.destroy();
        reject(err instanceof RebuildError ? err : fail(messageOf(err)));
      };
      source.on('error', stop);
      gunzip.on('error', stop);
      extract.on('error', stop);
      extract.on('finish', () => {
        if (!stopped) resolve();
      });
      extract.on('entry', (header, stream, next) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const name = header.name;
        stream.on('error', stop);
        if (header.type !== 'file' || !name.startsWith(`${BUNDLE_ROOT}/`)) {
          stream.on('end', next);
          stream.resume();
          return;
        }
        const rel = name.slice(BUNDLE_ROOT.length + 1);
        if (!SAFE_NAME.test(rel) || rel.split('/').some((p) => p === '..' || p === '.'))
          return stop(fail(`entry name ${JSON.stringify(name)}`));
        if (entries.size >= limits.maxEntries) return stop(fail(`more than ${limits.maxEntries} entries`));
        stream.on('data', (chunk: unknown) => {
          const c = chunk as Buffer;
          size += c.length;
          total += c.length;
          if (size > limits.maxEntryBytes || total > limits.maxTotalBytes)
            return stop(fail(`entry ${rel} is larger than allowed`));
          chunks.push(c);
        });
        stream.on('end', () => {
          if (stopped) return;
          if (entries.has(rel)) return stop(fail(`entry ${rel} appears twice`));
          entries.set(rel, Buffer.concat(chunks));
          next();
        });
      });
      source.pipe(gunzip).pipe(extract as unknown as NodeJS.WritableStream);
    });
  } finally {
    await fh.close().catch(() => {});
  }
  if (!entries.has('result.json')) throw fail('it holds no result.json');
  return entries;
}

/** `rebuild evidence <result.json|out-dir>`: the output directory either names. */
export function outDirOf(path: string): string {
  return basename(path) === 'result.json' ? dirname(path) : path;
}

/** Whether a path is a regular file starting with the gzip magic (a bundle, not an envelope or result.json). */
export async function isBundleFile(path: string): Promise<boolean> {
  const head = await readRegular(path, 2);
  return head?.bytes[0] === 0x1f && head.bytes[1] === 0x8b;
}
