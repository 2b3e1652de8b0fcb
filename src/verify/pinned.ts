/**
 * `rebuild <pkg>` for the TOML era (soarpkgs since 2026-07-28). A package
 * pins an artifact by URL, size, BLAKE3 and SHA-256 per host, behind a
 * minisign-signed index. What can be verified: that the bytes are exactly
 * the ones pinned (and, given the index, signed); that the installed files
 * are what `[source.install]` takes out of them; and, for an artifact
 * pkgforge built itself in pkgforge/builds, that its build.toml rebuilds
 * the same archive. What cannot: that an upstream's own binary is what its
 * source makes — there is no recipe for it here.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type BuildsRebuildResult, rebuildBuildsToml } from '../build/builds/rebuild.js';
import type { Arch, ContainerLimits } from '../engine/types.js';
import { compareArtifact } from '../forensics/artifact.js';
import type { Verdict } from '../forensics/types.js';
import { type ArtifactOrigin, originOf } from '../recipe/dialects/pkg-toml.js';
import {
  checkInstallPaths,
  findVersion,
  installFor,
  loadSoarPackage,
  type SoarPackage,
} from '../recipe/toml/soarpkgs.js';
import {
  MinisignFormatError,
  PKGFORGE_MINISIGN_KEYS,
  parsePublicKey,
  verifyFileSignature,
} from '../upstream/minisign.js';
import { fetchPinned, type PinCheck } from '../upstream/pinned-fetch.js';
import { parseSoarIndex } from '../upstream/soar-index.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { type ErrorCategory, isRebuildError, messageOf, RebuildError } from '../util/errors.js';
import { applyInstallMap, type InstallOutcome } from './install-map.js';

export type PinnedVerdict =
  /** the bytes are the ones pinned (and signed); nothing was rebuilt: upstream's own binary has no recipe */
  | 'pinned'
  /** a pkgforge/builds artifact rebuilt to the same bytes */
  | 'reproducible'
  /** a pkgforge/builds artifact rebuilt to other bytes, every difference explained as benign */
  | 'equivalent'
  /** a pkgforge/builds artifact rebuilt to other bytes */
  | 'different'
  /** the bytes, the index or its signature disagree with the pins */
  | 'upstream-integrity'
  | 'build-failed'
  | 'error';

export interface PinnedVerifyOptions {
  /** A pkg.toml, a version file, or a package directory. */
  target: string;
  version?: string;
  arch: Arch;
  outDir?: string;
  cacheDir?: string;
  /** The sbuild index (`metadata-<host>.json`), file or URL; its signature is `<index>.sig`. */
  index?: string;
  /** The minisign public key the index must be signed with (default soarpkgs' keys/minisign.pub). */
  indexKey?: string;
  /** A pkgforge/builds checkout: its `packages/<name>/build.toml` rebuilds pkgforge-built artifacts. */
  buildsTree?: string;
  registryMirrors?: Record<string, string>;
  /** URL prefix → mirror for pinned downloads (`https://github.com=http://127.0.0.1:8080`). */
  urlMirrors?: Record<string, string>;
  network?: 'none' | 'host';
  limits?: Partial<ContainerLimits>;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface IndexCheck {
  where: string;
  signature: 'valid' | 'invalid' | 'missing';
  keyId?: string;
  trustedComment?: string;
  reason?: string;
  /** The index entry against the version file. */
  entry: PinCheck[] | 'missing';
}

export interface PinnedResult {
  schema: 'rebuild.pinned/1';
  verdict: PinnedVerdict;
  summary: string;
  package: {
    name: string;
    version: string;
    host: string;
    type?: string;
    origin: ArtifactOrigin;
    pkgToml: string;
    versionFile: string;
  };
  artifact: {
    url: string;
    path?: string;
    size?: number;
    sha256?: string;
    blake3?: string;
    fromCache?: boolean;
    resumedFrom?: number;
  };
  checks: PinCheck[];
  index?: IndexCheck;
  install?: InstallOutcome;
  rebuild?: {
    result: BuildsRebuildResult;
    verdict: Verdict;
    against: string;
    differences: number;
    /** Per member of the archive (by path), from the archive comparator. */
    members: Array<{ path: string; verdict: Verdict; detail: string }>;
    /** Archive-level differences (order, mtimes, owners, modes, compression header). */
    archive: Array<{ aspect: string; detail: string; explainedBy: string | null }>;
    /** Only archive-level differences: every member's content is the same. */
    metadataOnly: boolean;
  };
  /** What this verdict proves, in plain words. */
  verified: string[];
  /** What it does not, and why. */
  notVerified: string[];
  outDir: string;
  error?: { message: string; fix?: string; category?: ErrorCategory; subject?: string };
  startedAt: string;
  durationMs: number;
}

function resolvePkgToml(target: string): { pkgToml: string; versionFile?: string } {
  if (target.endsWith('/pkg.toml') || target === 'pkg.toml') return { pkgToml: target };
  if (target.endsWith('.toml'))
    return { pkgToml: join(target, '..', 'pkg.toml'), versionFile: resolve(target) };
  return { pkgToml: join(target, 'pkg.toml') };
}

function isUrl(s: string): boolean {
  return /^https?:\/\//.test(s);
}

async function readBytes(where: string): Promise<Buffer | undefined> {
  if (isUrl(where)) {
    const res = await fetch(where, { signal: AbortSignal.timeout(60_000) }).catch(() => undefined);
    if (!res?.ok) return undefined;
    return Buffer.from(await res.arrayBuffer());
  }
  return readFile(where).catch(() => undefined);
}

/** The signed index, its signature, and its entry for this package version against the version file. */
async function checkIndex(
  where: string,
  keyText: string,
  /** Where the exact bytes checked are kept (the evidence of record). */
  copy: string,
  name: string,
  version: string,
  pin: { url: string; size?: number; blake3: string; sha256?: string },
): Promise<IndexCheck> {
  const bytes = await readBytes(where);
  // (the index is read from where it was given: --metadata names the copy to check)
  if (!bytes) throw new RebuildError('network', `cannot read the index ${where}`, { subject: where });
  const sig = await readBytes(`${where}.sig`);
  let key: ReturnType<typeof parsePublicKey>;
  try {
    key = parsePublicKey(keyText);
  } catch (err) {
    if (!(err instanceof MinisignFormatError)) throw err;
    throw new RebuildError('usage', `the index key is not a minisign public key: ${err.message}`, {
      fix: "--index-key takes a minisign .pub file (soarpkgs' keys/minisign.pub)",
    });
  }
  const out: IndexCheck = { where, signature: 'missing', entry: 'missing' };
  await writeFile(copy, bytes);
  if (sig) {
    const v = await verifyFileSignature(copy, sig.toString('utf8'), key);
    out.signature = v.status === 'ok' ? 'valid' : 'invalid';
    out.keyId = v.keyId;
    if (v.status === 'ok') out.trustedComment = v.trustedComment;
    else out.reason = v.reason;
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new RebuildError('input', `the index is not JSON: ${messageOf(err)}`, { subject: where });
  }
  const entry = parseSoarIndex(json, where).entries.find((e) => e.pkg_name === name && e.version === version);
  if (entry) {
    const checks: PinCheck[] = [
      {
        field: 'size',
        expected: String(pin.size ?? ''),
        actual: String(entry.size ?? ''),
        ok: pin.size === (entry.size ?? undefined),
      },
      { field: 'blake3', expected: pin.blake3, actual: entry.bsum ?? '', ok: pin.blake3 === entry.bsum },
    ];
    if (pin.sha256)
      checks.push({
        field: 'sha256',
        expected: pin.sha256,
        actual: entry.shasum ?? '',
        ok: pin.sha256 === entry.shasum,
      });
    if (entry.download_url !== pin.url)
      checks.push({ field: 'url', expected: pin.url, actual: entry.download_url, ok: false });
    out.entry = checks;
  }
  return out;
}

function short(h: string | undefined): string {
  return h ? `${h.slice(0, 16)}…` : '?';
}

export async function verifyPinned(opts: PinnedVerifyOptions): Promise<PinnedResult> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const { pkgToml, versionFile } = resolvePkgToml(opts.target);
  const pkg: SoarPackage = loadSoarPackage(pkgToml);
  const v = versionFile
    ? (pkg.versions.find((x) => resolve(x.file) === versionFile) ??
      (() => {
        throw new RebuildError('input', 'is not a readable version file of this package', {
          subject: versionFile,
        });
      })())
    : findVersion(pkg, opts.version);
  const host = `${opts.arch}-linux`;
  const url = v.url[host];
  const blake3 = v.blake3[host];
  if (!url || !blake3)
    throw new RebuildError(
      'input',
      `${pkg.name} ${v.version} pins nothing for ${host} (pins: ${Object.keys(v.url).join(', ')})`,
      {
        subject: v.file,
        fix: 'pick another --arch',
      },
    );
  const pin = { url, blake3, size: v.size[host], sha256: v.sha256[host] };
  const outDir = resolve(opts.outDir ?? join('rebuild-out', pkg.name, opts.arch));
  await mkdir(outDir, { recursive: true });
  const origin = originOf(url);
  const result: PinnedResult = {
    schema: 'rebuild.pinned/1',
    verdict: 'error',
    summary: '',
    package: {
      name: pkg.name,
      version: v.version,
      host,
      type: pkg.type,
      origin,
      pkgToml,
      versionFile: v.file,
    },
    artifact: { url },
    checks: [],
    verified: [],
    notVerified: [],
    outDir,
    startedAt,
    durationMs: 0,
  };
  const finish = async (verdict: PinnedVerdict, summary: string): Promise<PinnedResult> => {
    result.verdict = verdict;
    result.summary = summary;
    result.durationMs = Date.now() - started;
    await writeJsonAtomic(join(outDir, 'result.json'), result);
    return result;
  };
  try {
    const mappings = installFor(pkg, host, v.version);
    checkInstallPaths(mappings, pkgToml);

    if (opts.index) {
      result.index = await checkIndex(
        opts.index,
        opts.indexKey ?? PKGFORGE_MINISIGN_KEYS.soarpkgs,
        join(outDir, 'index.json'),
        pkg.name,
        v.version,
        pin,
      );
      const ix = result.index;
      if (ix.signature !== 'valid')
        return finish(
          'upstream-integrity',
          ix.signature === 'missing'
            ? `the index ${ix.where} has no signature (${ix.where}.sig)`
            : `the index signature is invalid: ${ix.reason}`,
        );
      if (ix.entry === 'missing')
        return finish(
          'upstream-integrity',
          `the signed index has no entry for ${pkg.name} ${v.version} on ${host}`,
        );
      const bad = ix.entry.filter((c) => !c.ok);
      if (bad.length > 0)
        return finish(
          'upstream-integrity',
          `the signed index disagrees with the version file on ${bad.map((c) => c.field).join(', ')}`,
        );
    }

    opts.log?.(`fetching ${url}`);
    const fetched = await fetchPinned(pin, join(outDir, 'artifact.mismatch'), {
      cacheDir: opts.cacheDir,
      signal: opts.signal,
      urlMirrors: opts.urlMirrors,
    });
    result.checks = fetched.checks;
    result.artifact = {
      url,
      path: fetched.path,
      size: fetched.digests.size,
      sha256: fetched.digests.sha256,
      blake3: fetched.digests.blake3,
      fromCache: fetched.fromCache,
      resumedFrom: fetched.resumedFrom,
    };
    if (!fetched.ok) {
      const bad = fetched.checks.filter((c) => !c.ok);
      result.notVerified.push(
        'anything about these bytes: they are not the ones pinned (kept as artifact.mismatch)',
      );
      return finish(
        'upstream-integrity',
        `the bytes at the pinned URL do not match ${bad.map((c) => `${c.field} (pinned ${short(c.expected)}, got ${short(c.actual)})`).join(', ')}`,
      );
    }
    result.verified.push(
      `the file at ${url} is ${fetched.digests.size} bytes with BLAKE3 ${fetched.digests.blake3} and SHA-256 ${fetched.digests.sha256}, exactly as ${v.file} pins them`,
    );
    if (result.index)
      result.verified.push(
        `the index ${result.index.where} is signed by minisign key ${result.index.keyId} (trusted comment "${result.index.trustedComment}") and its entry pins the same URL, size and hashes`,
      );
    else
      result.notVerified.push(
        'the index signature: no index was given (--metadata metadata-<host>.json, with its .sig beside it)',
      );

    result.install = await applyInstallMap(
      fetched.path,
      mappings,
      join(outDir, 'installed'),
      join(outDir, 'work'),
      url,
    );
    if (result.install.notApplied) result.notVerified.push(result.install.notApplied);
    else
      result.verified.push(
        `the installed files are what [source.install] takes out of those bytes: ${result.install.installed.map((f) => f.to).join(', ')}`,
      );

    if (origin === 'upstream') {
      result.notVerified.push(
        "that these bytes are what the upstream's source makes: this is the upstream's own release binary and there is no recipe here to rebuild it (check the upstream's own checksums or attestations)",
      );
      return finish(
        'pinned',
        `${pkg.name} ${v.version} (${host}) is the artifact pinned${result.index ? ' and signed' : ''}; not rebuilt: upstream's own binary has no recipe`,
      );
    }

    // built by pkgforge/builds: rebuild it from its build.toml and compare the archive
    if (!opts.buildsTree) {
      result.notVerified.push(
        'that pkgforge/builds made these bytes from its pinned commit: pass --builds <pkgforge/builds checkout> to rebuild it',
      );
      return finish(
        'pinned',
        `${pkg.name} ${v.version} (${host}) is the archive pinned; pass --builds to rebuild it from pkgforge/builds`,
      );
    }
    const recipePath = join(opts.buildsTree, 'packages', pkg.family ?? pkg.name, 'build.toml');
    let rebuilt: BuildsRebuildResult;
    try {
      rebuilt = await rebuildBuildsToml({
        recipePath,
        host,
        outDir: join(outDir, 'build'),
        registryMirrors: opts.registryMirrors,
        network: opts.network,
        limits: opts.limits,
        signal: opts.signal,
        log: opts.log,
      });
    } catch (err) {
      if (isRebuildError(err) && err.category === 'build') {
        result.error = { message: err.message, fix: err.fix, category: err.category, subject: err.subject };
        return finish('build-failed', `the pkgforge/builds recipe failed: ${err.message}`);
      }
      throw err;
    }
    // member by member: the archive comparator unpacks both sides in its network-less container
    const cmp = await compareArtifact(fetched.path, rebuilt.archive.path, {
      postProcessing: false,
      workDir: join(outDir, 'work'),
      onProgress: opts.log,
    });
    const changedMembers = cmp.members.filter((m) => m.verdict !== 'identical');
    const unexplained = cmp.archive.filter((d) => !d.explainedBy);
    result.rebuild = {
      result: rebuilt,
      verdict: cmp.verdict,
      against: url,
      differences: changedMembers.length + unexplained.length,
      members: cmp.members.map((m) => ({ path: m.path, verdict: m.verdict, detail: m.detail })),
      archive: cmp.archive.map((d) => ({
        aspect: d.aspect,
        detail: d.detail,
        explainedBy: d.explainedBy ?? null,
      })),
      metadataOnly: cmp.metadataOnly,
    };
    if (cmp.verdict === 'identical') {
      result.verified.push(
        `${rebuilt.recipe.file} rebuilt from commit ${rebuilt.source.commit ?? '(pinned archive)'} in ${rebuilt.image.pinned} gives the same ${rebuilt.archive.name}, byte for byte`,
      );
      for (const n of rebuilt.notes) result.notVerified.push(n);
      return finish(
        'reproducible',
        `${rebuilt.archive.name} rebuilt from its pinned commit and image is byte for byte the archive pinned`,
      );
    }
    result.notVerified.push(
      'that pkgforge/builds made these bytes: the rebuild from its pinned inputs gives other bytes',
    );
    const what = cmp.metadataOnly
      ? `every member is the same; the archive differs in ${unexplained.map((d) => d.aspect).join(', ') || 'explained ways only'}`
      : changedMembers.length > 0
        ? `member(s) ${changedMembers.map((m) => `${m.path} (${m.verdict}: ${m.detail})`).join('; ')}`
        : unexplained.map((d) => `${d.aspect}: ${d.detail}`).join('; ');
    return finish(
      cmp.verdict === 'equivalent' ? 'equivalent' : 'different',
      `${rebuilt.archive.name} rebuilt from its pinned commit and image differs from the archive pinned: ${what}`,
    );
  } catch (err) {
    if (!isRebuildError(err)) throw err;
    result.error = { message: err.message, fix: err.fix, category: err.category, subject: err.subject };
    if (err.category === 'upstream') return finish('upstream-integrity', err.message);
    return finish('error', err.message);
  } finally {
    await rm(join(outDir, 'work'), { recursive: true, force: true });
  }
}
