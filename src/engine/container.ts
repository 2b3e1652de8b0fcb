import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type Docker from 'dockerode';
import { messageOf, RebuildError } from '../util/errors.js';
import { ownerLabels, track, untrack } from './cleanup.js';
import {
  checkDiskReserve,
  DEFAULT_DISK_RESERVE_BYTES,
  type DiskShortage,
  distinctFileSystems,
  watchDiskReserve,
} from './disk-guard.js';
import { ENGINE_FIX } from './docker.js';
import { engineIdentity } from './image-state.js';
import { type ContainerLimits, PLATFORM, type RunOutcome, type RunSpec } from './types.js';

export const DEFAULT_LIMITS: ContainerLimits = {
  memoryBytes: 4 * 1024 ** 3,
  pids: 4096,
  timeoutMs: 60 * 60_000,
};

/**
 * Every capability is dropped; these few are given back because builds
 * install packages (dpkg/apt change owners, modes and users, set file
 * capabilities) and stop their own processes. Docker's default set also
 * has MKNOD, NET_RAW, AUDIT_WRITE and SETPCAP, which no build needs.
 */
export const KEPT_CAPS = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'SETUID',
  'SETGID',
  'SETFCAP',
  'KILL',
  'SYS_CHROOT',
  'NET_BIND_SERVICE',
] as const;

/** How long the last output may take to arrive after the container has exited. */
const OUTPUT_DRAIN_MS = 2000;

/** CPUs this process may run on, from the kernel's affinity list (`0-3,8`). */
function allowedCpus(): number[] {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const list = /^Cpus_allowed_list:\s*(.+)$/m.exec(status)?.[1]?.trim();
    if (list) {
      const cpus: number[] = [];
      for (const part of list.split(',')) {
        const [a, b] = part.split('-').map(Number);
        if (a === undefined || !Number.isInteger(a)) continue;
        for (let c = a; c <= (b ?? a); c++) cpus.push(c);
      }
      if (cpus.length > 0) return cpus;
    }
  } catch {
    // not Linux: fall back to a count
  }
  return Array.from({ length: availableParallelism() }, (_, i) => i);
}

/** The CPU count a container gets: asked for, else one per GiB of memory; never more than the host has. */
export function effectiveCpus(limits: ContainerLimits): number {
  const host = allowedCpus().length;
  const wanted = limits.cpus ?? Math.max(1, Math.floor(limits.memoryBytes / 1024 ** 3));
  return Math.max(1, Math.min(host, Math.floor(wanted)));
}

function cpusetFor(limits: ContainerLimits): string | undefined {
  const cpus = allowedCpus();
  const n = effectiveCpus(limits);
  return n >= cpus.length ? undefined : cpus.slice(0, n).join(',');
}

/**
 * The HostConfig every container gets: never privileged, only the given
 * mounts, network none unless host was asked for, every capability dropped
 * but those builds need, no-new-privileges, memory/pids/CPU limits.
 */
export function hostConfigFor(spec: RunSpec, limits: ContainerLimits): Docker.HostConfig {
  const cpuset = cpusetFor(limits);
  return {
    Binds: (spec.mounts ?? []).map((m) => `${m.host}:${m.container}:${m.readOnly ? 'ro' : 'rw'}`),
    ...(spec.tmpfs || spec.readOnlyRoot ? { Tmpfs: tmpfsFor(spec) } : {}),
    ...(spec.readOnlyRoot ? { ReadonlyRootfs: true } : {}),
    ...(spec.scratch?.length
      ? { Mounts: spec.scratch.map((target) => ({ Type: 'volume' as const, Source: '', Target: target })) }
      : {}),
    NetworkMode: spec.network ?? 'none',
    // An engine that remaps user namespaces cannot share the host's network
    // namespace from a remapped one: such containers keep the host's (recorded).
    ...(spec.network === 'host' ? { UsernsMode: 'host' } : {}),
    Privileged: false,
    CapDrop: ['ALL'],
    CapAdd: [...KEPT_CAPS],
    SecurityOpt: ['no-new-privileges'],
    Memory: limits.memoryBytes,
    MemorySwap: limits.memoryBytes,
    PidsLimit: limits.pids,
    NanoCpus: effectiveCpus(limits) * 1e9,
    ...(cpuset ? { CpusetCpus: cpuset } : {}),
    Init: true,
    // Output reaches rebuild by attach (build.log is capped); the engine need not keep its own unbounded copy on disk.
    LogConfig: { Type: 'none', Config: {} },
    AutoRemove: false,
  };
}

/** Scratch space of a read-only container, counted in its memory limit. */
const READ_ONLY_TMP = 'rw,noexec,nosuid,nodev,size=64m';

/**
 * Where a build with a read-only root may still write besides its work
 * directory: what compilers, configure scripts and language tool chains use
 * (temporary files they also run, and caches under $HOME, root's or the
 * builder's `runner`). tmpfs, so counted in the memory limit: each may take
 * at most half of it.
 */
export function buildScratch(limits: Pick<ContainerLimits, 'memoryBytes'>): Record<string, string> {
  const half = `size=${Math.max(64, Math.floor(limits.memoryBytes / 2 / 1024 ** 2))}m`;
  const opts = `rw,exec,nosuid,nodev,${half}`;
  return {
    '/tmp': `${opts},mode=1777`,
    '/var/tmp': `${opts},mode=1777`,
    '/root': `${opts},mode=0700`,
    '/home/runner': `${opts},mode=0755,uid=1000,gid=1000`,
    '/run': 'rw,noexec,nosuid,nodev,size=16m,mode=0755',
  };
}

function tmpfsFor(spec: RunSpec): Record<string, string> {
  const t = { ...spec.tmpfs };
  if (spec.readOnlyRoot && !('/tmp' in t)) t['/tmp'] = READ_ONLY_TMP;
  return t;
}

/**
 * The file systems a container writes: its read-write mounts' sources, and the
 * engine's data root (its own layer) when the engine runs on this host.
 */
async function writtenFileSystems(docker: Docker, spec: RunSpec): Promise<string[]> {
  const paths = (spec.mounts ?? []).filter((m) => !m.readOnly).map((m) => m.host);
  if ((docker.modem as { socketPath?: unknown }).socketPath) {
    const root = await engineIdentity(docker).then(
      (e) => e.rootDir,
      () => undefined,
    );
    // A remapped engine's root (…/docker/100000.100000) may not be readable: its parent is the same disk.
    for (let p = root; p && p !== '/'; p = dirname(p)) paths.push(p);
  }
  return distinctFileSystems(paths);
}

export function containerName(hint?: string): string {
  const safe = (hint ?? 'run').replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 40);
  return `rebuild-${safe}-${randomBytes(4).toString('hex')}`;
}

/**
 * Runs one command in a fresh container and waits for it, streaming its
 * output. The container is removed afterwards (unless `keep`), also when the
 * command fails, times out, the caller aborts, or it cannot start.
 */
export async function runContainer(docker: Docker, spec: RunSpec): Promise<RunOutcome> {
  const limits = { ...DEFAULT_LIMITS, ...spec.limits };
  const platform = PLATFORM[spec.arch];
  const started = Date.now();
  const reserve = limits.diskReserveBytes ?? DEFAULT_DISK_RESERVE_BYTES;
  const watched = reserve > 0 ? await writtenFileSystems(docker, spec) : [];
  await checkDiskReserve(watched, reserve);
  const guard = spec.startGuard;
  await guard?.enter();
  let guarded = guard !== undefined;
  const leaveGuard = async (startedId?: string) => {
    if (!guarded) return;
    guarded = false;
    await guard?.leave(startedId);
  };
  let container: Docker.Container;
  try {
    container = await docker.createContainer({
      name: spec.name ?? containerName(),
      platform: `${platform.os}/${platform.architecture}`,
      Image: spec.image,
      Cmd: spec.cmd,
      Entrypoint: spec.entrypoint,
      Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
      WorkingDir: spec.workdir,
      User: spec.user,
      Labels: { ...spec.labels, ...ownerLabels() },
      Tty: false,
      AttachStdout: true,
      AttachStderr: true,
      ...(spec.stdin ? { AttachStdin: true, OpenStdin: true, StdinOnce: true } : {}),
      HostConfig: hostConfigFor(spec, limits),
    } as Docker.ContainerCreateOptions);
  } catch (err) {
    await leaveGuard();
    throw creationError(err, spec);
  }
  track(docker, container.id);
  let timedOut = false;
  let aborted = false;
  let running = false;
  let diskFull: DiskShortage | undefined;
  let stopWatching: () => void = () => undefined;
  const onAbort = () => {
    aborted = true;
    void container.kill().catch(() => undefined);
  };
  try {
    const stream = (await container.attach({
      stream: true,
      stdout: true,
      stderr: true,
      ...(spec.stdin ? { stdin: true, hijack: true } : {}),
    })) as NodeJS.ReadWriteStream;
    const out = new PassThrough();
    const err = new PassThrough();
    out.on('data', (c: Buffer) => spec.onOutput?.(c, 'stdout'));
    err.on('data', (c: Buffer) => spec.onOutput?.(c, 'stderr'));
    docker.modem.demuxStream(stream, out, err);
    const ended = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
    if (spec.signal?.aborted) throw interrupted();
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await container.start();
      running = true;
      await leaveGuard(container.id);
    } catch (startErr) {
      throw new RebuildError('environment', `cannot start a container: ${messageOf(startErr)}`, {
        subject: spec.image,
        cause: startErr,
      });
    } finally {
      await leaveGuard();
    }
    spec.onStart?.(container.id);
    stopWatching = watchDiskReserve(watched, reserve, (shortage) => {
      diskFull = shortage;
      void container.kill().catch(() => undefined);
    });
    if (spec.stdin) {
      const input = spec.stdin;
      input.on('error', () => void container.kill().catch(() => undefined));
      // Ended or destroyed, the container's stdin is closed either way.
      input.on('end', () => stream.end());
      input.on('close', () => stream.end());
      // Closed before the container started (a `docker cp` whose source is missing): its events are past.
      const state = input as Partial<Readable>;
      if (state.destroyed || state.readableEnded) stream.end();
      else input.pipe(stream, { end: false });
    }
    const timer = setTimeout(() => {
      timedOut = true;
      void container.kill().catch(() => undefined);
    }, limits.timeoutMs);
    let status: { StatusCode: number };
    try {
      status = (await container.wait()) as { StatusCode: number };
    } finally {
      clearTimeout(timer);
      stopWatching();
    }
    // Let the last output arrive (bounded: the stream ends when the container does).
    let drain: NodeJS.Timeout | undefined;
    await Promise.race([ended, new Promise((r) => (drain = setTimeout(r, OUTPUT_DRAIN_MS)))]);
    clearTimeout(drain);
    if (aborted) throw interrupted();
    const state = await container.inspect().then(
      (i) => i.State,
      () => undefined,
    );
    return {
      containerId: container.id,
      exitCode: status.StatusCode,
      timedOut,
      oomKilled: state?.OOMKilled === true,
      ...(diskFull ? { diskFull } : {}),
      durationMs: Date.now() - started,
    };
  } finally {
    stopWatching();
    await leaveGuard();
    spec.signal?.removeEventListener('abort', onAbort);
    // A container that never ran is of no use to `docker cp` either.
    if (!spec.keep || aborted || !running) {
      await container.remove({ force: true, v: true }).catch(() => undefined);
      untrack(container.id);
    }
  }
}

/** Removes a container kept with `keep: true`. */
export async function removeContainer(docker: Docker, id: string): Promise<void> {
  await docker
    .getContainer(id)
    .remove({ force: true, v: true })
    .catch(() => undefined);
  untrack(id);
}

function interrupted(): RebuildError {
  return new RebuildError('interrupted', 'interrupted; the container was removed');
}

function creationError(err: unknown, spec: RunSpec): RebuildError {
  const msg = messageOf(err);
  if (/ENOENT|ECONNREFUSED|connect/i.test(msg)) {
    return new RebuildError('environment', 'the Docker engine does not answer', {
      fix: ENGINE_FIX,
      cause: err,
    });
  }
  if (/no such image|404/i.test(msg)) {
    return new RebuildError(
      'environment',
      `image not found for ${PLATFORM[spec.arch].architecture}: ${msg}`,
      {
        subject: spec.image,
        fix: `build it with \`rebuild runner bootstrap --arch ${spec.arch}\``,
        cause: err,
      },
    );
  }
  return new RebuildError('environment', `cannot create a container: ${msg}`, {
    subject: spec.image,
    cause: err,
  });
}
