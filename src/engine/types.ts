import type { DiskShortage } from './disk-guard.js';
/** Target architectures, named as pkgforge names them (`uname -m`). */
export type Arch = 'x86_64' | 'aarch64';

export const ARCHES: readonly Arch[] = ['x86_64', 'aarch64'];

/** Docker platform and Debian architecture for each arch. */
export const PLATFORM: Record<
  Arch,
  { os: 'linux'; architecture: 'amd64' | 'arm64'; debian: 'amd64' | 'arm64' }
> = {
  x86_64: { os: 'linux', architecture: 'amd64', debian: 'amd64' },
  aarch64: { os: 'linux', architecture: 'arm64', debian: 'arm64' },
};

export function parseArch(value: string): Arch | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'x86_64' || v === 'amd64' || v === 'x86-64' || v === 'x64') return 'x86_64';
  if (v === 'aarch64' || v === 'arm64') return 'aarch64';
  return undefined;
}

export function hostArch(): Arch {
  return process.arch === 'arm64' ? 'aarch64' : 'x86_64';
}

/** Images rebuild builds locally (`base`: the mmdebstrap root file system the others start FROM). */
export type ImageRole = 'base' | 'builder' | 'host-runner';

export interface BuiltImage {
  /** Local tag, e.g. `rebuild/debian-builder:aarch64-<hash12>`. */
  tag: string;
  /** Image ID (`sha256:…`), the content address the engine gives it. */
  id: string;
  arch: Arch;
  role: ImageRole;
  /** Which Dockerfile under dockerfiles/ (e.g. `debian-builder`). */
  builder: string;
  /** Content hash of the inputs (Dockerfile, package list, base, arch). */
  inputsHash: string;
  created: string;
}

export interface Mount {
  host: string;
  container: string;
  readOnly?: boolean;
}

export interface ContainerLimits {
  /** Bytes of memory (default 4 GiB). */
  memoryBytes: number;
  /** Maximum processes (default 4096). */
  pids: number;
  /** Wall-clock limit in milliseconds (default 60 min). */
  timeoutMs: number;
  /**
   * CPUs a container may use (pinned with a cpuset, so `nproc` inside sees
   * them too and `make -j$(nproc)` stays within the memory limit). Default:
   * one per GiB of memory, at most the host's.
   */
  cpus?: number;
  /**
   * Free space a container must leave on the file systems it writes (its
   * read-write mounts, the engine's data root): it is stopped when free space
   * falls below (default 1 GiB, disk-guard.ts).
   */
  diskReserveBytes?: number;
}

export interface RunSpec {
  image: string;
  arch: Arch;
  cmd: string[];
  env?: Record<string, string>;
  workdir?: string;
  mounts?: Mount[];
  /** tmpfs mounts: container path → mount options (e.g. `size=1g`); counted in the memory limit. */
  tmpfs?: Record<string, string>;
  /** `none` unless the user asked for `host`. */
  network?: 'none' | 'host';
  /**
   * A read-only root file system (with a small tmpfs on /tmp unless `tmpfs`
   * names it): builds write only their work directory and `buildScratch()`.
   */
  readOnlyRoot?: boolean;
  /**
   * Container paths given a fresh anonymous volume (on the engine's disk, not
   * in memory like a tmpfs), private to this container and removed with it.
   */
  scratch?: string[];
  limits?: Partial<ContainerLimits>;
  user?: string;
  entrypoint?: string[];
  name?: string;
  /** Called with the container ID once it has started. */
  onStart?: (id: string) => void;
  /** Live output, as it arrives. */
  onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
  /** Aborting stops and removes the container. */
  signal?: AbortSignal;
  /** Keep the (stopped) container for getArchive; the caller must remove it. */
  keep?: boolean;
  /** Bytes written to the container's stdin (then closed). */
  stdin?: NodeJS.ReadableStream;
  /**
   * Runs around creating and starting the container: `enter` before create,
   * `leave` once the engine has set up its mounts (with the container's ID
   * when it started). The docker shim freezes every container the recipe
   * controls in between, so the bind sources it checked cannot be swapped
   * before the engine mounts them.
   */
  startGuard?: { enter(): Promise<void>; leave(startedId: string | undefined): Promise<void> };
  /** Extra labels (rebuild's owner labels are always set). */
  labels?: Record<string, string>;
}

export interface RunOutcome {
  containerId: string;
  exitCode: number;
  timedOut: boolean;
  /** The kernel killed the container for exceeding its memory limit. */
  oomKilled: boolean;
  /** Stopped because free space on a file system it writes fell below the reserve. */
  diskFull?: DiskShortage;
  durationMs: number;
}
