/**
 * Rebuilds one pkgforge/builds `build.toml` for one host exactly as
 * `build.py` does: the pinned source (commit checked before anything
 * runs), the builder image by digest through the engine, `sh -euc
 * "<deps prelude>\n<run>"` in `/build` with build.py's environment, the
 * artifacts staged under their published names with build.py's modes, and
 * the `.tar.gz` written byte for byte as CPython writes it.
 */
import { createWriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, open, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { buildScratch, DEFAULT_LIMITS, runContainer } from '../../engine/container.js';
import { connectEngine } from '../../engine/docker.js';
import { remappedRoot } from '../../engine/hardening.js';
import { pullPinnedImage } from '../../engine/pull.js';
import type { Arch, ContainerLimits } from '../../engine/types.js';
import { type Digests, hashFile } from '../../hash/digest.js';
import {
  archiveName,
  type BuildsRecipe,
  buildEnv,
  buildScript,
  loadBuildToml,
  WORKDIR,
} from '../../recipe/toml/builds.js';
import { archOfHost } from '../../recipe/toml/soarpkgs.js';
import { writeJsonAtomic } from '../../util/atomic.js';
import { chownTree } from '../../util/chown-tree.js';
import { RebuildError } from '../../util/errors.js';
import { regularFileInside, writeFileInside } from '../../util/inside.js';
import { REBUILD_VERSION } from '../../util/version.js';
import { type StageFile, writeBuildsArchive } from './archive.js';
import { downloadBySha256, fetchBySha256, fetchSource } from './source.js';

export interface BuildsRebuildOptions {
  recipePath: string;
  /** soarpkgs host name (`x86_64-linux`). */
  host: string;
  outDir: string;
  /** Registry host → mirror base URL (the image is pulled by digest through it). */
  registryMirrors?: Record<string, string>;
  /** build.py runs with the engine's default network (deps, cargo fetch); `none` unless asked. */
  network?: 'none' | 'host';
  limits?: Partial<ContainerLimits>;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface BuildsRebuildResult {
  schema: 'rebuild.builds/1';
  recipe: { file: string; sha256: string; name: string; version: string };
  host: string;
  arch: Arch;
  source: { kind: 'git' | 'url'; commit?: string; epoch: number };
  image: { pinned: string; pulledAs: string; digest: string; id: string };
  env: Record<string, string>;
  script: string;
  stage: Array<{ name: string; from: string; mode: string; size: number; sha256: string; blake3: string }>;
  archive: { path: string; name: string } & Digests;
  log: string;
  notes: string[];
  rebuildVersion: string;
}

/** 0755 for ELF files, 0644 for the rest: build.py decides by content, not by name. */
export async function buildsMode(path: string): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    return bytesRead === 4 && head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])) ? 0o755 : 0o644;
  } finally {
    await fh.close();
  }
}

/** Copies each declared artifact (never through a symlink) into `stage` under its published name. */
export async function stageArtifacts(
  r: BuildsRecipe,
  host: string,
  repo: string,
  stage: string,
): Promise<Array<StageFile & { from: string }>> {
  await rm(stage, { recursive: true, force: true });
  await mkdir(stage, { recursive: true });
  const target = r.target[host] ?? '';
  const published = [...r.artifacts, ...r.extra.map((e) => ({ from: e.to, to: e.to }))];
  const out: Array<StageFile & { from: string }> = [];
  for (const a of published) {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the recipe's own placeholder syntax
    const rel = a.from.replaceAll('${target}', target);
    const src = await regularFileInside(repo, rel, {
      subject: r.file,
      missing: `artifact not produced (${a.from} -> ${a.to})`,
      category: 'build',
    });
    const dest = join(stage, a.to);
    await copyFile(src, dest);
    const mode = await buildsMode(dest);
    await chmod(dest, mode);
    out.push({ name: a.to, path: dest, mode, size: (await stat(dest)).size, from: rel });
  }
  return out;
}

export async function rebuildBuildsToml(opts: BuildsRebuildOptions): Promise<BuildsRebuildResult> {
  const r = loadBuildToml(opts.recipePath);
  const host = opts.host;
  if (!r.hosts.includes(host))
    throw new RebuildError('input', `${r.name} does not build for ${host} (hosts: ${r.hosts.join(', ')})`, {
      subject: r.file,
    });
  const arch = archOfHost(host);
  if (!arch)
    throw new RebuildError('input', `rebuild builds for x86_64 and aarch64 only, not ${host}`, {
      subject: r.file,
    });
  if (!r.imageDigest)
    throw new RebuildError('input', `build.image "${r.image}" is not pinned by digest`, {
      subject: r.file,
      fix: 'an image named by tag cannot be rebuilt faithfully: pin it as <image>@sha256:<digest>',
    });
  const outDir = resolve(opts.outDir);
  const work = join(outDir, 'work');
  const repo = join(work, 'src');
  await mkdir(work, { recursive: true });
  const log = opts.log ?? (() => undefined);
  const notes: string[] = [];

  // 1. the source, checked before anything runs
  const source = await fetchSource(r.source, repo, opts.signal);
  log(
    `source ${r.source.kind === 'git' ? `${r.source.git} at ${source.commit}` : r.source.url}, SOURCE_DATE_EPOCH=${source.epoch}`,
  );
  if (r.tools.length > 0) {
    const tools = join(work, 'tools');
    await rm(tools, { recursive: true, force: true });
    await mkdir(tools, { recursive: true });
    for (const t of r.tools) {
      await fetchBySha256(t, join(tools, t.to));
      await chmod(join(tools, t.to), 0o755);
    }
  }

  // 2. the image, by digest, through the engine
  const docker = await connectEngine();
  const image = await pullPinnedImage(docker, r.image, arch, opts.registryMirrors, (l) => log(`pull ${l}`));
  log(`image ${image.pulledAs} (${image.id})`);

  // The build writes into its source: under user-namespace remapping the container's root is another host uid.
  const root = await remappedRoot(docker);
  if (root) await chownTree(work, root.uid, root.gid);

  // 3. the script, as build.py runs it
  const env = buildEnv(r, host, source.epoch);
  const script = buildScript(r);
  const logPath = join(outDir, 'build.log');
  const logFile = createWriteStream(logPath);
  const mounts = [{ host: repo, container: WORKDIR }];
  if (r.tools.length > 0) mounts.push({ host: join(work, 'tools'), container: '/tools' });
  let outcome: Awaited<ReturnType<typeof runContainer>>;
  try {
    outcome = await runContainer(docker, {
      image: image.id,
      arch,
      cmd: ['sh', '-euc', script],
      env,
      workdir: WORKDIR,
      mounts,
      // The deps prelude installs packages into the image's root; without deps the build writes only /build and scratch.
      ...(r.deps.length === 0
        ? { readOnlyRoot: true, tmpfs: buildScratch({ ...DEFAULT_LIMITS, ...opts.limits }) }
        : {}),
      network: opts.network ?? 'none',
      limits: opts.limits,
      name: `builds-${r.name}`,
      signal: opts.signal,
      onOutput: (chunk) => {
        logFile.write(chunk);
        for (const line of chunk.toString('utf8').split('\n')) if (line) log(line);
      },
    });
  } finally {
    await new Promise<void>((res) => logFile.end(res));
  }
  if (outcome.exitCode !== 0 || outcome.timedOut)
    throw new RebuildError(
      'build',
      outcome.timedOut
        ? 'the build hit its time limit'
        : `the build script exited with status ${outcome.exitCode}`,
      { subject: r.file, fix: `see ${logPath}` },
    );
  notes.push(
    r.deps.length === 0
      ? "the build container's root was read-only (writable: /build, /tmp, /var/tmp, $HOME, /run)"
      : `the build container's root was writable: the deps prelude installs ${r.deps.length} package(s) into it`,
  );
  if (r.deps.length > 0)
    notes.push(
      `deps (${r.depsVia}) ${r.deps.join(' ')} are not version-pinned by build.toml: a newer package can change the bytes`,
    );
  if (r.verifyRun)
    notes.push(
      `[verify] run ${JSON.stringify(r.verifyRun)} (build.py's smoke test under qemu) was not run: it adds no bytes`,
    );

  // 4. extras, the stage, the archive
  // The build wrote the whole tree: each extra lands there without following a link it planted.
  for (const e of r.extra)
    await writeFileInside(repo, e.to, await downloadBySha256(e), {
      subject: r.file,
      what: `[[extra]] ${e.to}`,
    });
  const staged = await stageArtifacts(r, host, repo, join(work, 'stage'));
  const name = archiveName(r, host);
  const archivePath = join(outDir, name);
  await writeBuildsArchive(staged, source.epoch, archivePath);
  const digests = await hashFile(archivePath);
  const stage = [];
  for (const s of staged)
    stage.push({
      name: s.name,
      from: s.from,
      mode: s.mode.toString(8).padStart(4, '0'),
      ...(await hashFile(s.path)),
    });
  const result: BuildsRebuildResult = {
    schema: 'rebuild.builds/1',
    recipe: { file: r.file, sha256: r.fileSha256, name: r.name, version: r.source.version },
    host,
    arch,
    source: { kind: r.source.kind, commit: source.commit, epoch: source.epoch },
    image,
    env,
    script,
    stage,
    archive: { path: archivePath, name, ...digests },
    log: logPath,
    notes,
    rebuildVersion: REBUILD_VERSION,
  };
  await writeJsonAtomic(join(outDir, 'builds-result.json'), result);
  return result;
}
