import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { messageOf } from '../../util/errors.js';
import { containerName, removeContainer, runContainer } from '../container.js';
import { type DiskShortage, describeShortage } from '../disk-guard.js';
import type { Arch, ContainerLimits, RunOutcome } from '../types.js';
import { BoundedOutput, OutputBudget } from './bounded-output.js';
import { type CopyLimits, copyOut } from './copy-out.js';
import {
  type CopyCommand,
  DockerArgvError,
  type NamesCommand,
  parseDockerArgv,
  type RunCommand,
} from './docker-argv.js';
import { WorkFreezer } from './freezer.js';
import type { JobIO, ShimRequest } from './server.js';
import { PolicyError, realDirectoryBelow, workRelative } from './work-paths.js';

export interface ShimContext {
  docker: Docker;
  arch: Arch;
  /** The work directory, on the host and as the host-runner container sees it. */
  work: { host: string; container: string };
  network: 'none' | 'host';
  limits: ContainerLimits;
  /** The image `docker cp` runs its helper in (rebuild's host-runner: bash, tar, coreutils). */
  helperImage: string;
  /** Bounds on what the recipe's docker commands may make rebuild hold (defaults below). */
  bounds?: Partial<ShimBounds>;
  /** Maps an image as the recipe wrote it to a local image for `arch`. */
  resolveImage(nameAsWritten: string): Promise<{ tag: string; id: string }>;
  /** Notes for the build log (policy decisions). */
  log(line: string): void;
  signal?: AbortSignal;
}

/** Ignored flags named one by one in an inner container's record; the rest are counted. */
const MAX_POLICY_FLAGS = 16;

/** What docker accepts as a container name (bounded: it is kept in the build's record). */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;

/** A recipe's string as shown in a record or message: at most 200 characters of it. */
function shortened(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}… (${text.length} characters)` : text;
}

/** Docker's exit code for an error of the docker command itself. */
const DOCKER_ERROR = 125;

export interface ShimBounds {
  /** Inner containers one build may start (default 64). */
  maxContainers: number;
  /** Output kept per inner container for `docker logs` (default 8 MiB; older output is dropped). */
  logBytes: number;
  /** Output kept for `docker logs` by all inner containers together (default 64 MiB). */
  logBytesTotal: number;
  copy: CopyLimits;
}

export const DEFAULT_SHIM_BOUNDS: ShimBounds = {
  maxContainers: 64,
  logBytes: 8 * 1024 ** 2,
  logBytesTotal: 64 * 1024 ** 2,
  copy: { maxBytes: 8 * 1024 ** 3, maxEntries: 200_000 },
};

interface Started {
  id: string;
  name: string;
  image: { asWritten: string; tag: string; id: string };
  done: Promise<RunOutcome>;
  output: BoundedOutput;
  /** Work-directory paths (relative) mounted into it, re-checked before the engine mounts them again. */
  binds: string[];
  settled: boolean;
  /** Resolves with the engine's ID once the container has started (or undefined if it never does). */
  idKnown: Promise<string | undefined>;
}

/** A record of each inner container, for the build's inputs. */
export interface InnerContainerRecord {
  name: string;
  image: string;
  imageTag: string;
  imageId: string;
  exitCode?: number;
  timedOut?: boolean;
  oomKilled?: boolean;
  diskFull?: DiskShortage;
  policy: string[];
}

/**
 * Carries out the docker commands of one build's host-runner container under
 * rebuild's policy. Every container it starts is removed by `cleanup()`.
 */
export class ShimExecutor {
  private readonly started = new Map<string, Started>();
  readonly records: InnerContainerRecord[] = [];
  private readonly bounds: ShimBounds;
  private readonly freezer: WorkFreezer;
  /** What every inner container's `docker logs` output may keep, together. */
  private readonly logBudget: OutputBudget;
  /** Set by `cleanup()`: the build's script has ended, so no container may start any more. */
  private closed = false;
  /** Commands still being carried out: `cleanup()` waits for them, so none starts a container after it. */
  private readonly inflight = new Set<Promise<number>>();

  constructor(private readonly ctx: ShimContext) {
    this.bounds = {
      ...DEFAULT_SHIM_BOUNDS,
      ...ctx.bounds,
      copy: { ...DEFAULT_SHIM_BOUNDS.copy, ...ctx.bounds?.copy },
    };
    this.freezer = new WorkFreezer(ctx.docker, ctx.work.host);
    this.logBudget = new OutputBudget(this.bounds.logBytesTotal);
  }

  handle = (req: ShimRequest, io: JobIO): Promise<number> => {
    const job = this.carryOut(req, io);
    this.inflight.add(job);
    void job.finally(() => this.inflight.delete(job)).catch(() => undefined);
    return job;
  };

  private async carryOut(req: ShimRequest, io: JobIO): Promise<number> {
    if (this.closed) {
      io.stderr('docker (rebuild shim): the build has ended; no more docker commands\n');
      return DOCKER_ERROR;
    }
    let command: ReturnType<typeof parseDockerArgv>;
    try {
      command = parseDockerArgv(req.argv);
    } catch (err) {
      if (err instanceof DockerArgvError) {
        io.stderr(`docker (rebuild shim): ${err.message}\n`);
        this.ctx.log(`shim: refused \`docker ${req.argv.slice(0, 2).join(' ')}\`: ${err.message}`);
        return DOCKER_ERROR;
      }
      throw err;
    }
    try {
      switch (command.kind) {
        case 'run':
          return await this.run(command, req, io);
        case 'cp':
          return await this.copy(command, req, io);
        case 'pull':
          io.stderr(`docker (rebuild shim): images are built locally; not pulling ${command.image}\n`);
          return 0;
        default:
          return await this.byName(command, io);
      }
    } catch (err) {
      if (err instanceof PolicyError) {
        io.stderr(`docker (rebuild shim): ${err.message}\n`);
        this.ctx.log(`shim: policy: ${err.message}`);
        return DOCKER_ERROR;
      }
      io.stderr(`docker (rebuild shim): ${messageOf(err)}\n`);
      return DOCKER_ERROR;
    }
  }

  /** Refuses to start anything once the build's script has ended (a command sent just before it exited). */
  private refuseIfClosed(): void {
    if (this.closed) throw new PolicyError('the build has ended; no more containers are started');
  }

  private async run(cmd: RunCommand, req: ShimRequest, io: JobIO): Promise<number> {
    const policy: string[] = [];
    if (cmd.name !== undefined && !CONTAINER_NAME.test(cmd.name)) {
      throw new PolicyError(
        `invalid container name "${shortened(cmd.name)}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at most 255 characters`,
      );
    }
    if (cmd.name && this.started.has(cmd.name)) {
      throw new PolicyError(`the container name "${cmd.name}" is already in use`);
    }
    if (cmd.envFiles.length > 0) throw new PolicyError('--env-file is not supported; pass -e NAME=VALUE');
    if (cmd.platform && !platformMatches(cmd.platform, this.ctx.arch)) {
      policy.push(`--platform ${cmd.platform} replaced by the target arch ${this.ctx.arch}`);
    }
    if (cmd.network && cmd.network !== this.ctx.network) {
      policy.push(`--network ${cmd.network} replaced by ${this.ctx.network}`);
    }
    // Recorded in result.json: a request may carry a million ignored flags, so only the first few are named.
    for (const flag of cmd.ignored.slice(0, MAX_POLICY_FLAGS)) policy.push(`${shortened(flag)} ignored`);
    if (cmd.ignored.length > MAX_POLICY_FLAGS) {
      policy.push(`${cmd.ignored.length - MAX_POLICY_FLAGS} more flags ignored`);
    }
    if (this.records.length >= this.bounds.maxContainers) {
      throw new PolicyError(`a build may start at most ${this.bounds.maxContainers} containers`);
    }
    // Lexical only: the sources are checked (and created) with the recipe frozen, just before the engine mounts them.
    const binds = cmd.volumes.map((v) => workRelative(v.source, req.cwd, this.ctx.work.container));
    const image = await this.ctx.resolveImage(cmd.image);
    // Checked again after every wait: cleanup() may have run meanwhile, and must not be outlived.
    this.refuseIfClosed();
    const mounts = cmd.volumes.map((v, i) => ({
      host: joinWork(this.ctx.work.host, binds[i]!),
      container: v.target,
      readOnly: v.readOnly,
    }));
    const env: Record<string, string> = {};
    // The source pin follows the recipe into the builders it starts (runners/git-pin).
    const pin = req.env.REBUILD_SOURCE_COMMIT;
    if (pin) env.REBUILD_SOURCE_COMMIT = pin;
    for (const e of cmd.env) {
      const value = e.value ?? req.env[e.name];
      if (value !== undefined) env[e.name] = value;
    }
    for (const line of policy) this.ctx.log(`shim: docker run ${cmd.image}: ${line}`);
    const name = cmd.name ?? `anon-${this.records.length + 1}`;
    const output = new BoundedOutput(this.bounds.logBytes, this.logBudget);
    const record: InnerContainerRecord = {
      name,
      image: cmd.image,
      imageTag: image.tag,
      imageId: image.id,
      policy,
    };
    this.records.push(record);
    let resolveId: (id: string) => void = () => undefined;
    const idKnown = new Promise<string>((r) => {
      resolveId = r;
    });
    let started: Started | undefined;
    const startGuard = this.freezer.startGuard(
      async () => {
        // Under the freezer's lock, just before the engine creates it: the last point a late command is refused.
        this.refuseIfClosed();
        for (const rel of binds) await realDirectoryBelow(this.ctx.work.host, rel, { create: true });
      },
      (id) => {
        if (started) started.id = id;
        resolveId(id);
      },
    );
    const done = runContainer(this.ctx.docker, {
      // By ID: a tag moved after the image was resolved is not followed.
      image: image.id,
      arch: this.ctx.arch,
      cmd: cmd.args,
      entrypoint: cmd.entrypoint === undefined ? undefined : cmd.entrypoint === '' ? [] : [cmd.entrypoint],
      env,
      workdir: cmd.workdir,
      user: cmd.user,
      mounts,
      network: this.ctx.network,
      limits: this.ctx.limits,
      name: containerName(name),
      keep: true,
      signal: this.ctx.signal,
      startGuard,
      onOutput: (chunk, stream) => {
        output.push(chunk);
        if (!cmd.detach) (stream === 'stdout' ? io.stdout : io.stderr)(chunk);
      },
    });
    const entry: Started = {
      id: '',
      name,
      image: { asWritten: cmd.image, ...image },
      done,
      output,
      binds,
      settled: false,
      idKnown: Promise.race([
        idKnown,
        done.then(
          (o) => o.containerId,
          () => undefined,
        ),
      ]),
    };
    started = entry;
    this.started.set(name, entry);
    done.then(
      (o) => {
        entry.settled = true;
        entry.id ||= o.containerId;
        record.exitCode = o.exitCode;
        record.timedOut = o.timedOut;
        record.oomKilled = o.oomKilled;
        if (o.diskFull) record.diskFull = o.diskFull;
      },
      () => {
        entry.settled = true;
        // It never ran (a refused mount, a failed start): runContainer removed it.
        this.started.delete(name);
      },
    );
    if (cmd.detach) {
      entry.id = await Promise.race([idKnown, done.then((o) => o.containerId)]);
      io.stdout(`${entry.id}\n`);
      return 0;
    }
    const outcome = await done;
    if (cmd.remove) await this.forget(name);
    if (outcome.timedOut) {
      io.stderr(`docker (rebuild shim): container ${name} hit the time limit and was stopped\n`);
      return 137;
    }
    if (outcome.diskFull) {
      io.stderr(
        `docker (rebuild shim): container ${name} was stopped: ${describeShortage(outcome.diskFull, 'fell to')}\n`,
      );
      return 137;
    }
    if (outcome.oomKilled) {
      io.stderr(`docker (rebuild shim): container ${name} was killed for exceeding its memory limit\n`);
      this.ctx.log(`shim: inner container ${name} was OOM-killed (memory limit)`);
    }
    return outcome.exitCode;
  }

  private async copy(cmd: CopyCommand, req: ShimRequest, io: JobIO): Promise<number> {
    if (!cmd.source.container) {
      throw new PolicyError(
        'copying into a container is not supported; mount a work directory with -v instead',
      );
    }
    const inner = this.started.get(cmd.source.container);
    if (!inner) {
      io.stderr(`Error: No such container: ${cmd.source.container}\n`);
      return 1;
    }
    const id = inner.id || (await inner.done.then((o) => o.containerId));
    this.refuseIfClosed();
    const destRel = workRelative(cmd.dest.path, req.cwd, this.ctx.work.container);
    const result = await copyOut({
      docker: this.ctx.docker,
      arch: this.ctx.arch,
      helperImage: this.ctx.helperImage,
      workHost: this.ctx.work.host,
      destRel,
      sourcePath: cmd.source.path,
      limits: this.ctx.limits,
      copyLimits: this.bounds.copy,
      signal: this.ctx.signal,
      // The engine mounts the source's volumes again to read it: their sources must still be real directories.
      openArchive: async () => {
        for (const rel of inner.binds) await realDirectoryBelow(this.ctx.work.host, rel, { create: false });
        return (await this.ctx.docker
          .getContainer(id)
          .getArchive({ path: cmd.source.path })
          .catch((err: unknown) => {
            throw new PolicyError(
              `no such path ${cmd.source.container}:${cmd.source.path} (${messageOf(err)})`,
            );
          })) as Readable;
      },
      frozen: (fn) => this.freezer.frozen(fn),
    });
    if (!result.ok) {
      io.stderr(`docker (rebuild shim): docker cp failed: ${result.message}\n`);
      this.ctx.log(`shim: docker cp ${cmd.source.container}:${cmd.source.path} failed: ${result.message}`);
      return 1;
    }
    return 0;
  }

  private async byName(cmd: NamesCommand, io: JobIO): Promise<number> {
    let code = 0;
    for (const name of cmd.names) {
      const c = this.started.get(name);
      if (!c) {
        io.stderr(`Error: No such container: ${name}\n`);
        code = 1;
        continue;
      }
      switch (cmd.kind) {
        case 'rm':
          if (!cmd.force && !c.settled) {
            io.stderr(`Error: container ${name} is running: stop it first or use -f\n`);
            code = 1;
            continue;
          }
          await this.stopContainer(c);
          await this.forget(name);
          break;
        case 'stop':
        case 'kill':
          await this.stopContainer(c);
          break;
        case 'wait': {
          const o = await c.done;
          io.stdout(`${o.exitCode}\n`);
          break;
        }
        case 'logs':
          await c.done.catch(() => undefined);
          for (const chunk of c.output.replay()) io.stdout(chunk);
          break;
      }
      if (cmd.kind !== 'wait' && cmd.kind !== 'logs') io.stdout(`${name}\n`);
    }
    return code;
  }

  private async stopContainer(c: Started): Promise<void> {
    // A container still starting has no ID yet: wait for it rather than for its whole run.
    const id = c.settled ? undefined : c.id || (await c.idKnown);
    if (!c.settled && id) {
      await this.ctx.docker
        .getContainer(id)
        .kill()
        .catch(() => undefined);
    }
    await c.done.catch(() => undefined);
  }

  private async forget(name: string): Promise<void> {
    const c = this.started.get(name);
    if (!c) return;
    this.started.delete(name);
    c.output.release();
    const outcome = await c.done.catch(() => undefined);
    const id = c.id || outcome?.containerId;
    if (id) await removeContainer(this.ctx.docker, id);
  }

  /** Removes every container this build started (kept for `docker cp`). */
  async cleanup(): Promise<void> {
    this.closed = true;
    const removeAll = () =>
      Promise.allSettled(
        [...this.started.keys()].map(async (n) => {
          const c = this.started.get(n);
          if (c) await this.stopContainer(c);
          await this.forget(n);
        }),
      );
    await removeAll();
    // Commands sent just before the script ended: refused from now on, or ending with the containers above.
    await Promise.allSettled([...this.inflight]);
    await removeAll();
  }
}

/** The host path of a work-directory path the recipe named (joined lexically; checked before use). */
function joinWork(workHost: string, rel: string): string {
  return rel === '' ? workHost : `${workHost}/${rel}`;
}

function platformMatches(platform: string, arch: Arch): boolean {
  const p = platform.toLowerCase();
  return arch === 'aarch64' ? /arm64|aarch64/.test(p) : /amd64|x86_64/.test(p);
}
