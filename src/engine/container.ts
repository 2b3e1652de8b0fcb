import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { messageOf, RebuildError } from '../util/errors.js';
import { ownerLabels, track, untrack } from './cleanup.js';
import { ENGINE_FIX } from './docker.js';
import { type ContainerLimits, PLATFORM, type RunOutcome, type RunSpec } from './types.js';

export const DEFAULT_LIMITS: ContainerLimits = {
  memoryBytes: 4 * 1024 ** 3,
  pids: 4096,
  timeoutMs: 60 * 60_000,
};

/** Capabilities no build needs and that widen what a hostile recipe can do. */
const DROPPED_CAPS = [
  'NET_RAW',
  'NET_ADMIN',
  'SYS_ADMIN',
  'SYS_PTRACE',
  'SYS_MODULE',
  'MKNOD',
  'AUDIT_WRITE',
];

/**
 * The HostConfig every container gets: never privileged, only the given
 * mounts, network none unless host was asked for, memory/pids limits.
 */
export function hostConfigFor(spec: RunSpec, limits: ContainerLimits): Docker.HostConfig {
  return {
    Binds: (spec.mounts ?? []).map((m) => `${m.host}:${m.container}:${m.readOnly ? 'ro' : 'rw'}`),
    ...(spec.tmpfs ? { Tmpfs: spec.tmpfs } : {}),
    NetworkMode: spec.network ?? 'none',
    Privileged: false,
    CapDrop: DROPPED_CAPS,
    SecurityOpt: ['no-new-privileges'],
    Memory: limits.memoryBytes,
    MemorySwap: limits.memoryBytes,
    PidsLimit: limits.pids,
    Init: true,
    AutoRemove: false,
  };
}

export function containerName(hint?: string): string {
  const safe = (hint ?? 'run').replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 40);
  return `rebuild-${safe}-${randomBytes(4).toString('hex')}`;
}

/**
 * Runs one command in a fresh container and waits for it, streaming its
 * output. The container is removed afterwards (unless `keep`), also when the
 * command fails, times out, or the caller aborts.
 */
export async function runContainer(docker: Docker, spec: RunSpec): Promise<RunOutcome> {
  const limits = { ...DEFAULT_LIMITS, ...spec.limits };
  const platform = PLATFORM[spec.arch];
  const started = Date.now();
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
      Labels: ownerLabels(),
      Tty: false,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: hostConfigFor(spec, limits),
    } as Docker.ContainerCreateOptions);
  } catch (err) {
    throw creationError(err, spec);
  }
  track(docker, container.id);
  let timedOut = false;
  let aborted = false;
  const onAbort = () => {
    aborted = true;
    void container.kill().catch(() => undefined);
  };
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
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
    await container.start();
    spec.onStart?.(container.id);
    const timer = setTimeout(() => {
      timedOut = true;
      void container.kill().catch(() => undefined);
    }, limits.timeoutMs);
    let status: { StatusCode: number };
    try {
      status = (await container.wait()) as { StatusCode: number };
    } finally {
      clearTimeout(timer);
    }
    // Let the last output arrive (bounded: the stream ends when the container does).
    await Promise.race([ended, new Promise((r) => setTimeout(r, 2000))]);
    if (aborted) throw interrupted();
    return {
      containerId: container.id,
      exitCode: status.StatusCode,
      timedOut,
      durationMs: Date.now() - started,
    };
  } finally {
    spec.signal?.removeEventListener('abort', onAbort);
    if (!spec.keep || aborted) {
      await container.remove({ force: true }).catch(() => undefined);
      untrack(container.id);
    }
  }
}

/** Removes a container kept with `keep: true`. */
export async function removeContainer(docker: Docker, id: string): Promise<void> {
  await docker
    .getContainer(id)
    .remove({ force: true })
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
