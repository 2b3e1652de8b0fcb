import type Docker from 'dockerode';
import { buildScratch, runContainer } from '../engine/container.js';
import type { DiskShortage } from '../engine/disk-guard.js';
import { ensureBuilderImage, ensureHostRunnerImage, resolveBuilderName } from '../engine/images.js';
import { ShimExecutor } from '../engine/shim/executor.js';
import { ShimServer } from '../engine/shim/server.js';
import type { Arch, ContainerLimits, Mount, RunOutcome } from '../engine/types.js';
import { RebuildError } from '../util/errors.js';
import { CONTAINER_PATHS, type RunImage } from './plan.js';
import type { ImageInput } from './result.js';
import { type Workspace, writeScript } from './workspace.js';

export interface EngineContext {
  docker: Docker;
  arch: Arch;
  network: 'none' | 'host';
  limits: ContainerLimits;
  imageMap?: Record<string, string>;
  /** Image IDs (from imageMap) that are pkgforge's builders of record. */
  ofRecord?: ReadonlySet<string>;
  /** A builder pinned by digest may run as rebuild's stand-in (noted); otherwise it is refused. */
  digestStandIn?: boolean;
  signal?: AbortSignal;
  /** Progress of image builds and policy notes. */
  note(line: string): void;
}

/**
 * Finds (building if needed) the local image for an image name as a recipe
 * writes it, or for the host-runner.
 */
export async function resolveRunImage(ctx: EngineContext, image: RunImage): Promise<ImageInput> {
  if (image.role === 'host-runner') {
    const built = await ensureHostRunnerImage(ctx.docker, ctx.arch, {
      onProgress: ctx.note,
      signal: ctx.signal,
    });
    return {
      asWritten: 'host-runner',
      tag: built.tag,
      id: built.id,
      builder: built.builder,
      inputsHash: built.inputsHash,
    };
  }
  return resolveNamedImage(ctx, image.nameAsWritten);
}

export async function resolveNamedImage(ctx: EngineContext, nameAsWritten: string): Promise<ImageInput> {
  const resolved = resolveBuilderName(nameAsWritten, ctx.arch, ctx.imageMap, {
    digestStandIn: ctx.digestStandIn,
  });
  if (resolved.pinnedDigest) {
    ctx.note(
      `image ${nameAsWritten} is pinned by digest; rebuild's local ${resolved.builder} stands in for it (a different image, recorded as the builder of record differing)`,
    );
  }
  if (resolved.tagArch && resolved.tagArch !== ctx.arch) {
    ctx.note(`image ${nameAsWritten} names ${resolved.tagArch}; using the ${ctx.arch} builder (target arch)`);
  }
  if (resolved.image) {
    const info = await ctx.docker
      .getImage(resolved.image)
      .inspect()
      .catch((err: unknown) => {
        throw new RebuildError('environment', `the mapped image ${resolved.image} is not in the engine`, {
          subject: nameAsWritten,
          fix: 'build or load it first, or fix --image-map',
          cause: err,
        });
      });
    const builder = ctx.ofRecord?.has(info.Id) ? 'pkgforge (of record)' : 'user';
    return { asWritten: nameAsWritten, tag: resolved.image, id: info.Id, builder, inputsHash: '' };
  }
  const built = await ensureBuilderImage(ctx.docker, ctx.arch, {
    builder: resolved.builder,
    onProgress: ctx.note,
    signal: ctx.signal,
  });
  return {
    asWritten: nameAsWritten,
    tag: built.tag,
    id: built.id,
    builder: built.builder,
    inputsHash: built.inputsHash,
  };
}

/**
 * `x_exec.pkgver` prints a version and writes nothing else: its root is
 * read-only. The build containers themselves keep the writable root
 * pkgforge's `docker run` gave them (real 2026 recipes such as amdgpu_top's
 * `apt-get install` in `x_exec.container`); what they write there is their
 * own and is discarded with the container.
 */
function readOnlyPkgver(ctx: EngineContext): { readOnlyRoot: true; tmpfs: Record<string, string> } {
  return { readOnlyRoot: true, tmpfs: buildScratch(ctx.limits) };
}

/** What `x_exec.pkgver` may print (a version string); more is refused rather than held. */
export const MAX_PKGVER_BYTES = 64 * 1024;

/** Runs `x_exec.pkgver` (pkgforge gave it 60 s) and returns what it printed, trimmed (the builder of record reads it). */
export async function runPkgverScript(
  ctx: EngineContext,
  ws: Workspace,
  image: ImageInput,
  script: string,
  env: Record<string, string>,
  onOutput: (chunk: Buffer) => void,
): Promise<string> {
  await writeScript(ws.pkgverScript, script);
  const stdout: Buffer[] = [];
  let printedBytes = 0;
  const outcome = await runContainer(ctx.docker, {
    image: image.id,
    arch: ctx.arch,
    cmd: [CONTAINER_PATHS.pkgverScript],
    env,
    workdir: CONTAINER_PATHS.outDir,
    mounts: [
      { host: ws.sbuild, container: CONTAINER_PATHS.outDir },
      { host: ws.pkgverScript, container: CONTAINER_PATHS.pkgverScript, readOnly: true },
    ],
    network: ctx.network,
    ...readOnlyPkgver(ctx),
    limits: { ...ctx.limits, timeoutMs: Math.min(ctx.limits.timeoutMs, 60_000) },
    signal: ctx.signal,
    onOutput: (chunk, stream) => {
      // A version is one short line: what is printed past the bound is counted, not kept.
      if (stream === 'stdout') {
        if (printedBytes + chunk.length <= MAX_PKGVER_BYTES) stdout.push(chunk);
        printedBytes += chunk.length;
      }
      onOutput(chunk);
    },
  });
  if (printedBytes > MAX_PKGVER_BYTES)
    throw new RebuildError(
      'build',
      `x_exec.pkgver printed ${printedBytes} bytes, more than a version (at most ${MAX_PKGVER_BYTES})`,
      {
        fix: "pin the version with --pkgver <version> (the published version), or fix the recipe's pkgver script",
      },
    );
  // The log keeps one line per line: a version printed without a newline gets one.
  const printed = Buffer.concat(stdout);
  if (printed.length > 0 && printed[printed.length - 1] !== 0x0a) onOutput(Buffer.from('\n'));
  const text = printed.toString('utf8').trim();
  const version = text;
  if (outcome.timedOut || outcome.exitCode !== 0 || !version) {
    const why = outcome.timedOut
      ? 'timed out after 60 s'
      : outcome.exitCode !== 0
        ? `exited ${outcome.exitCode}`
        : 'printed nothing';
    throw new RebuildError(
      'build',
      `x_exec.pkgver ${why}${ctx.network === 'none' ? ' (the network is off)' : ''}`,
      {
        fix: 'pin the version with --pkgver <version> (the published version), or allow the network with --network host',
      },
    );
  }
  return version;
}

export interface MainRun {
  outcome: RunOutcome;
  /** Inner containers the kernel killed for exceeding the memory limit. */
  oomKilledInner: string[];
  /** An inner container hit the build's time limit (which it shares with the host-runner). */
  innerTimedOut: boolean;
  /** An inner container was stopped because the disk ran low (disk-guard.ts). */
  diskFullInner?: DiskShortage;
  innerImages: { name: string; asWritten: string; tag: string; id: string; policy: string[] }[];
}

/**
 * Runs the recipe's script in its container: the builder (2026) or the
 * host-runner with rebuild's docker shim (2025 docker-run and host recipes).
 * Every container started on the recipe's behalf is removed afterwards.
 */
export async function runMainScript(
  ctx: EngineContext,
  ws: Workspace,
  image: ImageInput,
  role: RunImage['role'],
  script: string,
  env: Record<string, string>,
  onOutput: (chunk: Buffer) => void,
): Promise<MainRun> {
  await writeScript(ws.script, script);
  const mounts: Mount[] = [
    { host: ws.sbuild, container: CONTAINER_PATHS.outDir },
    { host: ws.script, container: CONTAINER_PATHS.script, readOnly: true },
  ];
  if (role === 'builder') {
    const outcome = await runContainer(ctx.docker, {
      image: image.id,
      arch: ctx.arch,
      cmd: [CONTAINER_PATHS.script],
      env,
      workdir: CONTAINER_PATHS.outDir,
      mounts,
      network: ctx.network,
      limits: ctx.limits,
      signal: ctx.signal,
      onOutput: (chunk) => onOutput(chunk),
    });
    return { outcome, innerImages: [], oomKilledInner: [], innerTimedOut: false };
  }
  const started = Date.now();
  const executor = new ShimExecutor({
    docker: ctx.docker,
    arch: ctx.arch,
    work: { host: ws.sbuild, container: CONTAINER_PATHS.outDir },
    helperImage: image.id,
    network: ctx.network,
    // Inner containers share the build's time budget.
    limits: {
      ...ctx.limits,
      get timeoutMs() {
        return Math.max(1000, ctx.limits.timeoutMs - (Date.now() - started));
      },
    },
    resolveImage: async (name) => {
      const img = await resolveNamedImage(ctx, name);
      return { tag: img.tag, id: img.id };
    },
    log: (line) => onOutput(Buffer.from(`[rebuild] ${line}\n`)),
    signal: ctx.signal,
  });
  const server = new ShimServer(`${ws.shimDir}/shim.sock`, executor.handle);
  await server.start();
  try {
    const outcome = await runContainer(ctx.docker, {
      image: image.id,
      arch: ctx.arch,
      cmd: [CONTAINER_PATHS.script],
      env: { ...env, REBUILD_SHIM_SOCKET: `${CONTAINER_PATHS.shimDir}/shim.sock` },
      workdir: CONTAINER_PATHS.outDir,
      // Read-only: the recipe can reach the socket but never replace it or plant links beside it.
      mounts: [...mounts, { host: ws.shimDir, container: CONTAINER_PATHS.shimDir, readOnly: true }],
      network: ctx.network,
      limits: ctx.limits,
      signal: ctx.signal,
      onOutput: (chunk) => onOutput(chunk),
    });
    return {
      outcome,
      oomKilledInner: executor.records.filter((r) => r.oomKilled).map((r) => r.name),
      innerTimedOut: executor.records.some((r) => r.timedOut),
      ...diskFullOf(executor.records),
      innerImages: executor.records.map((r) => ({
        name: r.name,
        asWritten: r.image,
        tag: r.imageTag,
        id: r.imageId,
        policy: r.policy,
      })),
    };
  } finally {
    await executor.cleanup();
    await server.stop();
  }
}

function diskFullOf(records: readonly { diskFull?: DiskShortage }[]): { diskFullInner?: DiskShortage } {
  const first = records.find((r) => r.diskFull)?.diskFull;
  return first ? { diskFullInner: first } : {};
}
