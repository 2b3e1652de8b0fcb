/**
 * Builder images, made offline. No registry is reachable, so:
 *   1. a base image per arch is bootstrapped from Debian packages with
 *      mmdebstrap on the host and loaded as a docker-archive whose config
 *      carries the right architecture (base-image.ts);
 *   2. dockerfiles/<builder>.Dockerfile and dockerfiles/host-runner.Dockerfile
 *      are built on top of it through dockerode for the target platform,
 *      with network none.
 * Every image carries labels (role, arch, builder, inputs hash) and is found
 * again by them: the inputs hash covers everything that goes into the image,
 * so a second run reuses what exists, and a changed input makes a new image.
 */
import { createHash, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { RebuildError } from '../util/errors.js';
import { isProcessAlive } from '../util/process.js';
import {
  BASE_DPKG_OPTIONS,
  BASE_PATH,
  BASE_SUITE,
  BASE_VARIANT,
  checkBinfmt,
  loadRootfsImage,
  mmdebstrapArgs,
  mmdebstrapVersion,
  readPackageList,
  runMmdebstrap,
} from './base-image.js';
import { type ContextFile, collectDir, contextHash, contextTar } from './build-context.js';
import { claimTags, engineKey, type ImageState, imageStateFor } from './image-state.js';
import { LABELS } from './labels.js';
import { followJsonStream } from './progress.js';
import { type Arch, type BuiltImage, hostArch, type ImageRole, PLATFORM } from './types.js';

export { parseImageName, type ResolvedBuilder, resolveBuilderName } from './image-names.js';
export { LABELS } from './labels.js';

/** `builder` label of base images. */
export const BASE_BUILDER = `debian-${BASE_SUITE}`;
export const DEFAULT_BUILDER = 'debian-builder';
export const HOST_RUNNER = 'host-runner';
/**
 * Bump when the way images are made changes (not their inputs). 2: images
 * are recorded by ID in rebuild's own state and built FROM the base's ID.
 */
const RECIPE_VERSION = 2;
/**
 * The same, for the images built on the base (builders, host-runner). 3:
 * built without the engine's build cache (one made by version 2 may have
 * taken a planted cache entry as one of its steps), so made again; the base
 * (mmdebstrap, no cache) keeps RECIPE_VERSION and its images.
 */
const ON_BASE_RECIPE_VERSION = 3;

/** Extra folders (beside the Dockerfile) that go into a Dockerfile's build context. */
const CONTEXT_DIRS: Readonly<Record<string, readonly string[]>> = {
  [HOST_RUNNER]: ['runners'],
  [DEFAULT_BUILDER]: ['runners'],
};

export interface EnsureOptions {
  /** Progress lines (mmdebstrap, build steps), without newlines. */
  onProgress?(line: string): void;
  /** Dockerfile under dockerfiles/ for the builder role (default `debian-builder`). */
  builder?: string;
  /** Aborts a running bootstrap. */
  signal?: AbortSignal;
  /** Tree holding dockerfiles/ and runners/ (default: rebuild's own). */
  assetsDir?: string;
}

/** What ensure* returns: the image, whether it already existed, and its base. */
export interface EnsuredImage extends BuiltImage {
  reused: boolean;
  /** Wall time spent on this image, in seconds (not counting its base's own ensure). */
  seconds: number;
  /** The base image it was built on (absent for the base itself). */
  base?: EnsuredImage;
}

/** rebuild's install tree: src/engine/ and dist/engine/ both sit two levels below it. */
export function defaultAssetsDir(): string {
  return fileURLToPath(new URL('../../', import.meta.url));
}

/** `${XDG_CACHE_HOME:-~/.cache}/rebuild`. */
export function cacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg?.startsWith('/') ? xdg : join(homedir(), '.cache'), 'rebuild');
}

/**
 * `${XDG_STATE_HOME:-~/.local/state}/rebuild`: what this machine's engine holds is
 * state, not cache. It must not follow XDG_CACHE_HOME (a private download cache
 * would otherwise hide the record of images the engine already has, and every
 * verification would refuse them as not rebuild's).
 */
export function engineStateDir(): string {
  const xdg = process.env.XDG_STATE_HOME;
  return join(xdg?.startsWith('/') ? xdg : join(homedir(), '.local', 'state'), 'rebuild');
}

/** rebuild's record of the images it built on this engine (by content digest), with the engine's state. */
export function imageState(docker: Docker): Promise<ImageState> {
  return imageStateFor(docker, join(engineStateDir(), 'images'));
}

/** SHA-256 of a canonical JSON rendering (sorted keys). */
export function inputsHashOf(value: unknown): string {
  const canon = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canon);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as Record<string, unknown>)
          .sort()
          .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return createHash('sha256')
    .update(JSON.stringify(canon(value)))
    .digest('hex');
}

/** Repository part of local tags: `rebuild/base`, `rebuild/debian-builder`, `rebuild/host-runner`. */
export function repoFor(role: ImageRole, builder: string): string {
  // Other root file system images (the unpacker) get their own repository.
  return role === 'base' && builder === BASE_BUILDER ? 'rebuild/base' : `rebuild/${builder}`;
}

/** `rebuild/debian-builder:aarch64-<hash12>`. */
export function hashTagFor(role: ImageRole, builder: string, arch: Arch, inputsHash: string): string {
  return `${repoFor(role, builder)}:${arch}-${inputsHash.slice(0, 12)}`;
}

/** `rebuild/debian-builder:aarch64`: always the newest image ensured for that arch. */
export function floatingTagFor(role: ImageRole, builder: string, arch: Arch): string {
  return `${repoFor(role, builder)}:${arch}`;
}

function asRole(v: string | undefined): ImageRole | undefined {
  return v === 'base' || v === 'builder' || v === 'host-runner' ? v : undefined;
}

function asArch(v: string | undefined): Arch | undefined {
  return v === 'x86_64' || v === 'aarch64' ? v : undefined;
}

function toBuiltImage(info: Docker.ImageInfo): BuiltImage | undefined {
  const l = info.Labels ?? {};
  const role = asRole(l[LABELS.role]);
  const arch = asArch(l[LABELS.arch]);
  const builder = l[LABELS.builder];
  const inputsHash = l[LABELS.inputsHash];
  if (!role || !arch || !builder || !inputsHash) return undefined;
  const tags = (info.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
  const want = hashTagFor(role, builder, arch, inputsHash);
  const tag = tags.includes(want) ? want : (tags[0] ?? '<none>');
  return {
    tag,
    id: info.Id,
    arch,
    role,
    builder,
    inputsHash,
    created: new Date(info.Created * 1000).toISOString(),
  };
}

/**
 * Images rebuild made (their IDs are in its own records; labels alone are
 * no proof), newest first within each role/builder/arch.
 */
export async function listImages(docker: Docker, given?: ImageState): Promise<BuiltImage[]> {
  const state = given ?? (await imageState(docker));
  const ours = new Set((await state.all()).map((r) => r.id));
  const infos = await docker.listImages({ filters: { label: [LABELS.role] } });
  const out: BuiltImage[] = [];
  for (const info of infos) {
    if (!ours.has(info.Id)) continue;
    const b = toBuiltImage(info);
    if (b) out.push(b);
  }
  const order: Record<ImageRole, number> = { base: 0, builder: 1, 'host-runner': 2 };
  return out.sort(
    (a, b) =>
      order[a.role] - order[b.role] ||
      a.builder.localeCompare(b.builder) ||
      a.arch.localeCompare(b.arch) ||
      b.created.localeCompare(a.created),
  );
}

/** Record of the image for build inputs: ID, registry digests (none for local images) and arch. */
export async function imageDigestInfo(
  docker: Docker,
  tag: string,
): Promise<{ id: string; repoDigests: string[]; architecture: string; os: string; variant?: string }> {
  let info: Docker.ImageInspectInfo;
  try {
    info = await docker.getImage(tag).inspect();
  } catch (err) {
    throw new RebuildError('environment', 'image not found in the engine', {
      subject: tag,
      fix: 'run `rebuild runner bootstrap --arch <arch>` to build the builder images',
      cause: err,
    });
  }
  const variant = (info as { Variant?: string }).Variant;
  return {
    id: info.Id,
    repoDigests: info.RepoDigests ?? [],
    architecture: info.Architecture,
    os: info.Os,
    ...(variant ? { variant } : {}),
  };
}

// ---------------------------------------------------------------- locking

const LOCK_MAX_AGE_MS = 3 * 3600_000;

/** A lock is stale when its holder (on this host) is gone, or it is older than three hours. */
function lockIsStale(holder: string, mtimeMs: number): boolean {
  const [pidText, host] = holder.split(' ');
  const pid = Number(pidText);
  if (host === hostname() && Number.isInteger(pid) && pid > 0 && !isProcessAlive(pid)) return true;
  return Date.now() - mtimeMs > LOCK_MAX_AGE_MS;
}

/**
 * Runs `fn` holding `<cache>/locks/<name>.lock` (created with O_EXCL). A
 * second process waits; a lock whose holder died is taken over. The engine
 * itself stays consistent even if two builds did race (image IDs are content
 * addresses, tags are moved atomically): the lock saves the duplicate work.
 */
export async function withLock<T>(
  name: string,
  onProgress: ((l: string) => void) | undefined,
  fn: () => Promise<T>,
) {
  // With the image records: builds of one image by two processes serialise whatever their caches.
  const dir = join(engineStateDir(), 'locks');
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.lock`);
  const token = `${process.pid} ${hostname()} ${new Date().toISOString()} ${randomUUID()}`;
  let announced = false;
  for (;;) {
    try {
      await writeFile(path, token, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new RebuildError('environment', `cannot create the lock file: ${String(err)}`, {
          subject: path,
          fix: 'make the cache directory writable (or set XDG_CACHE_HOME)',
          cause: err,
        });
      }
    }
    let holder: string;
    let mtimeMs: number;
    try {
      holder = await readFile(path, 'utf8');
      mtimeMs = (await stat(path)).mtimeMs;
    } catch {
      continue; // released meanwhile
    }
    if (lockIsStale(holder, mtimeMs)) {
      onProgress?.(`taking over the stale lock ${path} (${holder.split(' ').slice(0, 2).join(' on ')})`);
      const aside = `${path}.stale-${process.pid}-${randomUUID()}`;
      try {
        await rename(path, aside);
      } catch {
        continue;
      }
      const moved = await readFile(aside, 'utf8').catch(() => '');
      await rm(aside, { force: true });
      // Someone else replaced the stale lock between our read and rename: put theirs back.
      if (moved !== holder) await writeFile(path, moved, { flag: 'wx' }).catch(() => undefined);
      continue;
    }
    if (!announced) {
      announced = true;
      onProgress?.(`waiting: another rebuild (pid ${holder.split(' ')[0]}) is making the same image`);
    }
    await sleep(500);
  }
  try {
    return await fn();
  } finally {
    const current = await readFile(path, 'utf8').catch(() => undefined);
    if (current === token) await rm(path, { force: true });
  }
}

// ---------------------------------------------------------------- temp dirs

/** Removes leftovers of bootstraps whose process died (Ctrl-C, kill). */
async function sweepTemp(tmpRoot: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(tmpRoot);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^rootfs-(\d+)-/.exec(n);
    if (m && !isProcessAlive(Number(m[1]))) await rm(join(tmpRoot, n), { recursive: true, force: true });
  }
}

/** A temporary directory under the cache, removed after `fn` (also on failure and at exit). */
async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const tmpRoot = join(cacheDir(), 'tmp');
  await mkdir(tmpRoot, { recursive: true });
  await sweepTemp(tmpRoot);
  const dir = await mkdtemp(join(tmpRoot, `rootfs-${process.pid}-`));
  const onExit = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', onExit);
  try {
    return await fn(dir);
  } finally {
    process.removeListener('exit', onExit);
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- base image

function since(t0: number): number {
  return Math.round((performance.now() - t0) / 100) / 10;
}

/**
 * The Debian base image for `arch`: found by its inputs hash (package list,
 * suite, variant, dpkg options, arch, mmdebstrap version), or bootstrapped
 * with mmdebstrap and loaded with the right architecture.
 */
export function ensureBaseImage(docker: Docker, arch: Arch, opts: EnsureOptions = {}): Promise<EnsuredImage> {
  return ensureRootfsImage(
    docker,
    arch,
    { builder: BASE_BUILDER, listFile: 'debian-builder.packages' },
    opts,
  );
}

/** Root file system images made by mmdebstrap: the builders' base, and the archive unpacker. */
interface RootfsImage {
  /** `builder` label (and tag repository part for non-base images). */
  builder: string;
  /** Package list under dockerfiles/. */
  listFile: string;
}

/** `builder` label of the unpack image (tar, xz, zstd, unzip, bsdtar, squashfs-tools; host arch only). */
export const UNPACK_BUILDER = 'unpack';

/**
 * The small image archives and AppImages are unpacked in (hostile input is
 * never unpacked on the host): made like the base image, from
 * dockerfiles/unpack.packages, for the host's own arch.
 */
export function ensureUnpackImage(docker: Docker, opts: EnsureOptions = {}): Promise<EnsuredImage> {
  return ensureRootfsImage(
    docker,
    hostArch(),
    { builder: UNPACK_BUILDER, listFile: 'unpack.packages' },
    opts,
  );
}

async function ensureRootfsImage(
  docker: Docker,
  arch: Arch,
  image: RootfsImage,
  opts: EnsureOptions,
): Promise<EnsuredImage> {
  const t0 = performance.now();
  const say = opts.onProgress;
  const assets = opts.assetsDir ?? defaultAssetsDir();
  const listPath = join(assets, 'dockerfiles', image.listFile);
  const packages = await readPackageList(listPath);
  const spec = {
    recipe: RECIPE_VERSION,
    suite: BASE_SUITE,
    variant: BASE_VARIANT,
    arch,
    platform: PLATFORM[arch],
    packages: [...packages].sort(),
    dpkg: BASE_DPKG_OPTIONS,
    args: mmdebstrapArgs(arch, [], '-'),
    // The base's spec stays as it was (its hash names existing images).
    ...(image.listFile === 'debian-builder.packages' ? {} : { image: image.builder }),
  };
  const specHash = inputsHashOf(spec);
  const labelsBase = { [LABELS.role]: 'base', [LABELS.arch]: arch, [LABELS.builder]: image.builder };
  const state = await imageState(docker);

  let version: string;
  try {
    version = await mmdebstrapVersion(join(cacheDir(), 'tools', 'mmdebstrap-version.json'));
  } catch (err) {
    // Without mmdebstrap an existing base made from the same spec is still usable.
    const existing = await state.findBySpec(docker, arch, specHash);
    if (!existing) throw err;
    say?.(`base ${arch}: mmdebstrap is missing; reusing ${existing.tag} made from the same package list`);
    return { ...existing, reused: true, seconds: since(t0) };
  }
  const inputsHash = inputsHashOf({ spec, mmdebstrap: version });
  const labels = { ...labelsBase, [LABELS.inputsHash]: inputsHash, [LABELS.specHash]: specHash };
  const tags = [
    hashTagFor('base', image.builder, arch, inputsHash),
    floatingTagFor('base', image.builder, arch),
  ];

  const key = { role: 'base' as const, builder: image.builder, arch, inputsHash };
  const found = await state.find(docker, key);
  if (found) {
    await claimTags(docker, state, found.id, tags, say);
    return { ...found, tag: tags[0]!, reused: true, seconds: since(t0) };
  }

  await checkBinfmt(arch);
  return withLock(
    `base-${arch}-${inputsHash.slice(0, 12)}-${engineKey(state.engine).slice(0, 12)}`,
    say,
    async () => {
      const again = await state.find(docker, key);
      if (again) {
        await claimTags(docker, state, again.id, tags, say);
        return { ...again, tag: tags[0]!, reused: true, seconds: since(t0) };
      }
      say?.(
        `base ${arch}: bootstrapping Debian ${BASE_SUITE} for ${image.builder} (${packages.length} packages) with mmdebstrap ${version}`,
      );
      const id = await withTempDir(async (dir) => {
        const rootfs = join(dir, 'rootfs.tar');
        const tBoot = performance.now();
        await runMmdebstrap(arch, packages, rootfs, say, opts.signal);
        say?.(`base ${arch}: mmdebstrap took ${since(tBoot)} s`);
        // Loaded untagged: the tags are claimed once the image is recorded as rebuild's.
        return loadRootfsImage(docker, rootfs, {
          arch,
          tags: [],
          labels,
          env: [`PATH=${BASE_PATH}`, 'LANG=C.UTF-8'],
          cmd: ['bash'],
          createdBy: `mmdebstrap ${version} ${mmdebstrapArgs(arch, packages, 'rootfs.tar').join(' ')}`,
          ...(say ? { onProgress: say } : {}),
        });
      });
      const info = await docker.getImage(id).inspect();
      const record = {
        tag: tags[0]!,
        id,
        arch,
        role: 'base' as const,
        builder: image.builder,
        inputsHash,
        created: new Date(info.Created).toISOString(),
      };
      await state.put({ ...record, specHash });
      await claimTags(docker, state, id, tags, say);
      say?.(`base ${arch}: ${tags[0]} ${id.slice(7, 19)} in ${since(t0)} s`);
      return { ...record, reused: false, seconds: since(t0) };
    },
  );
}

// ---------------------------------------------------------------- Dockerfile images

async function dockerfileContext(assets: string, builder: string): Promise<ContextFile[]> {
  const path = join(assets, 'dockerfiles', `${builder}.Dockerfile`);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    throw new RebuildError('environment', `no Dockerfile for builder "${builder}"`, {
      subject: path,
      fix: `use --builder ${DEFAULT_BUILDER}, or add dockerfiles/${builder}.Dockerfile starting with ARG BASE / FROM \${BASE}`,
    });
  }
  if (!/^\s*FROM\s+\$\{?BASE\}?\s*$/m.test(bytes.toString('utf8'))) {
    throw new RebuildError(
      'environment',
      `${builder} cannot be built offline: its Dockerfile does not start FROM \${BASE}`,
      {
        subject: path,
        fix: `build it on a machine with registry access and pass --image-map ${builder}=<local tag>`,
      },
    );
  }
  const files: ContextFile[] = [{ path: 'Dockerfile', mode: 0o644, bytes }];
  for (const d of CONTEXT_DIRS[builder] ?? []) files.push(...(await collectDir(join(assets, d), d)));
  return files;
}

async function buildOnBase(
  docker: Docker,
  arch: Arch,
  role: ImageRole,
  builder: string,
  opts: EnsureOptions,
): Promise<EnsuredImage> {
  let t0 = performance.now();
  const say = opts.onProgress;
  const assets = opts.assetsDir ?? defaultAssetsDir();
  const files = await dockerfileContext(assets, builder);
  if (role === 'host-runner' && !files.some((f) => f.path === 'runners/docker-shim')) {
    throw new RebuildError(
      'environment',
      'runners/docker-shim is missing from the host-runner build context',
      {
        subject: join(assets, 'runners'),
        fix: 'reinstall rebuild (runners/ ships with it)',
      },
    );
  }
  const base = await ensureBaseImage(docker, arch, opts);
  t0 = performance.now();
  const inputsHash = inputsHashOf({
    recipe: ON_BASE_RECIPE_VERSION,
    role,
    builder,
    arch,
    platform: PLATFORM[arch],
    context: contextHash(files),
    base: base.id,
  });
  const labels = {
    [LABELS.role]: role,
    [LABELS.arch]: arch,
    [LABELS.builder]: builder,
    [LABELS.inputsHash]: inputsHash,
    [LABELS.base]: base.id,
  };
  const hashTag = hashTagFor(role, builder, arch, inputsHash);
  const tags = [hashTag, floatingTagFor(role, builder, arch)];
  const state = await imageState(docker);
  const key = { role, builder, arch, inputsHash };
  const found = await state.find(docker, key);
  if (found) {
    await claimTags(docker, state, found.id, tags, say);
    return { ...found, tag: hashTag, reused: true, seconds: since(t0), base };
  }

  await checkBinfmt(arch);
  return withLock(
    `${builder}-${arch}-${inputsHash.slice(0, 12)}-${engineKey(state.engine).slice(0, 12)}`,
    say,
    async () => {
      const again = await state.find(docker, key);
      if (again) {
        await claimTags(docker, state, again.id, tags, say);
        return { ...again, tag: hashTag, reused: true, seconds: since(t0), base };
      }
      say?.(`${builder} ${arch}: building dockerfiles/${builder}.Dockerfile on ${base.tag}`);
      const platform = `${PLATFORM[arch].os}/${PLATFORM[arch].architecture}`;
      let result: Awaited<ReturnType<typeof followJsonStream>>;
      const tail: string[] = [];
      try {
        // Untagged, FROM the base's ID: no tag anyone can move is followed, and none is moved before the image is recorded.
        const stream = (await docker.buildImage(await contextTar(files), {
          platform,
          buildargs: { BASE: base.id },
          labels,
          networkmode: 'none',
          forcerm: true,
          rm: true,
          // Never from the build cache: the classic builder takes any child of the base whose step config
          // matches (a `docker commit` of a container made to look like the step) as that step's result.
          nocache: true,
          pull: false,
          ...(opts.signal ? { abortSignal: opts.signal } : {}),
        })) as unknown as Readable;
        result = await followJsonStream(stream, (line) => {
          tail.push(line);
          if (tail.length > 20) tail.shift();
          say?.(`${builder} ${arch}: ${line}`);
        });
      } catch (err) {
        throw new RebuildError('environment', `building ${builder} for ${arch} failed: ${String(err)}`, {
          subject: `dockerfiles/${builder}.Dockerfile`,
          cause: err,
        });
      }
      if (result.error !== undefined) {
        throw new RebuildError(
          'environment',
          `building ${builder} for ${arch} failed: ${result.error}\n${tail.slice(-10).join('\n')}`,
          {
            subject: `dockerfiles/${builder}.Dockerfile`,
            fix: 'the Dockerfile must not need the network (builds run with network none); see the lines above',
          },
        );
      }
      const builtId = [...result.events].reverse().find((e) => typeof e.aux?.ID === 'string')?.aux?.ID;
      if (!builtId) {
        throw new RebuildError('environment', `building ${builder} for ${arch} reported no image ID`, {
          subject: `dockerfiles/${builder}.Dockerfile`,
        });
      }
      const info = await docker.getImage(builtId).inspect();
      if (info.Architecture !== PLATFORM[arch].architecture) {
        throw new RebuildError(
          'environment',
          `built ${hashTag} is ${info.Os}/${info.Architecture}, expected ${platform}`,
          { subject: hashTag },
        );
      }
      const record = {
        tag: hashTag,
        id: info.Id,
        arch,
        role,
        builder,
        inputsHash,
        created: new Date(info.Created).toISOString(),
      };
      await state.put(record);
      await claimTags(docker, state, info.Id, tags, say);
      say?.(`${builder} ${arch}: ${hashTag} ${info.Id.slice(7, 19)} in ${since(t0)} s`);
      return { ...record, reused: false, seconds: since(t0), base };
    },
  );
}

/**
 * The builder image (`dockerfiles/<builder>.Dockerfile`, default
 * `debian-builder`) for `arch`, reused when its inputs are unchanged, else
 * built (with its base) offline. Tags: `rebuild/<builder>:<arch>-<hash12>`
 * and the floating `rebuild/<builder>:<arch>`.
 */
export function ensureBuilderImage(
  docker: Docker,
  arch: Arch,
  opts: EnsureOptions = {},
): Promise<EnsuredImage> {
  return buildOnBase(docker, arch, 'builder', opts.builder ?? DEFAULT_BUILDER, opts);
}

/**
 * The host-runner image for `arch`: the base plus rebuild's runners/ at
 * /opt/rebuild/runners and /usr/local/bin/docker → the docker shim.
 */
export function ensureHostRunnerImage(
  docker: Docker,
  arch: Arch,
  opts: EnsureOptions = {},
): Promise<EnsuredImage> {
  return buildOnBase(docker, arch, 'host-runner', HOST_RUNNER, opts);
}
