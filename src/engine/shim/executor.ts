import { mkdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import type Docker from 'dockerode';
import { messageOf } from '../../util/errors.js';
import { containerName, removeContainer, runContainer } from '../container.js';
import { extractTarSafely, isInside } from '../safe-extract.js';
import type { Arch, ContainerLimits, RunOutcome } from '../types.js';
import {
  type CopyCommand,
  DockerArgvError,
  type NamesCommand,
  parseDockerArgv,
  type RunCommand,
} from './docker-argv.js';
import type { JobIO, ShimRequest } from './server.js';

export interface ShimContext {
  docker: Docker;
  arch: Arch;
  /** The work directory, on the host and as the host-runner container sees it. */
  work: { host: string; container: string };
  network: 'none' | 'host';
  limits: ContainerLimits;
  /** Maps an image as the recipe wrote it to a local image for `arch`. */
  resolveImage(nameAsWritten: string): Promise<{ tag: string; id: string }>;
  /** Notes for the build log (policy decisions). */
  log(line: string): void;
  signal?: AbortSignal;
}

/** Docker's exit code for an error of the docker command itself. */
const DOCKER_ERROR = 125;

interface Started {
  id: string;
  name: string;
  image: { asWritten: string; tag: string; id: string };
  done: Promise<RunOutcome>;
  output: Buffer[];
  removeOnExit: boolean;
  settled: boolean;
}

/** A record of each inner container, for the build's inputs. */
export interface InnerContainerRecord {
  name: string;
  image: string;
  imageTag: string;
  imageId: string;
  exitCode?: number;
  timedOut?: boolean;
  policy: string[];
}

/**
 * Carries out the docker commands of one build's host-runner container under
 * rebuild's policy. Every container it starts is removed by `cleanup()`.
 */
export class ShimExecutor {
  private readonly started = new Map<string, Started>();
  readonly records: InnerContainerRecord[] = [];

  constructor(private readonly ctx: ShimContext) {}

  handle = async (req: ShimRequest, io: JobIO): Promise<number> => {
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
  };

  private async run(cmd: RunCommand, req: ShimRequest, io: JobIO): Promise<number> {
    const policy: string[] = [];
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
    for (const flag of cmd.ignored) policy.push(`${flag} ignored`);
    const image = await this.ctx.resolveImage(cmd.image);
    const mounts = [];
    for (const v of cmd.volumes) {
      mounts.push({
        host: await this.hostPath(v.source, req.cwd, true),
        container: v.target,
        readOnly: v.readOnly,
      });
    }
    const env: Record<string, string> = {};
    // The source pin follows the recipe into the builders it starts (runners/git-pin).
    const pin = req.env.REBUILD_SOURCE_COMMIT;
    if (pin) env.REBUILD_SOURCE_COMMIT = pin;
    for (const e of cmd.env) {
      const value = e.value ?? req.env[e.name];
      if (value !== undefined) env[e.name] = value;
    }
    for (const line of policy) this.ctx.log(`shim: docker run ${cmd.image}: ${line}`);
    const name = cmd.name ?? `anon-${this.started.size + 1}`;
    const output: Buffer[] = [];
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
    const done = runContainer(this.ctx.docker, {
      image: image.tag,
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
      onStart: (id) => resolveId(id),
      onOutput: (chunk, stream) => {
        output.push(chunk);
        if (!cmd.detach) (stream === 'stdout' ? io.stdout : io.stderr)(chunk);
      },
    });
    const started: Started = {
      id: '',
      name,
      image: { asWritten: cmd.image, ...image },
      done,
      output,
      removeOnExit: cmd.remove,
      settled: false,
    };
    this.started.set(name, started);
    done.then(
      (o) => {
        started.settled = true;
        record.exitCode = o.exitCode;
        record.timedOut = o.timedOut;
      },
      () => {
        started.settled = true;
      },
    );
    if (cmd.detach) {
      started.id = await Promise.race([idKnown, done.then((o) => o.containerId)]);
      io.stdout(`${started.id}\n`);
      return 0;
    }
    const outcome = await done;
    started.id = outcome.containerId;
    if (cmd.remove) await this.forget(name);
    if (outcome.timedOut) {
      io.stderr(`docker (rebuild shim): container ${name} hit the time limit and was stopped\n`);
      return 137;
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
    const srcPath = cmd.source.path;
    const contentsOnly = srcPath.endsWith('/.');
    const destHost = await this.hostPath(cmd.dest.path, req.cwd, false);
    const destStat = await stat(destHost).catch(() => undefined);
    const archive = (await this.ctx.docker
      .getContainer(id)
      .getArchive({ path: srcPath })) as NodeJS.ReadableStream;
    const subject = `docker cp ${cmd.source.container}:${srcPath}`;
    // Docker names entries after the source's base name: `./…` for `dir/.`, `dir/…` for `dir`.
    if (contentsOnly || destStat?.isDirectory()) {
      await mkdir(destHost, { recursive: true });
      const result = await extractTarSafely(archive as never, destHost, { subject });
      this.noteRefused(result.refused, io);
      return 0;
    }
    // The destination does not exist: the source itself is saved under that name.
    const staging = join(this.ctx.work.host, `.rebuild-cp-${Date.now()}`);
    try {
      const result = await extractTarSafely(archive as never, staging, { subject });
      this.noteRefused(result.refused, io);
      const base = posix.basename(srcPath.replace(/\/+$/, '')) || '/';
      await rename(join(staging, base === '/' ? '' : base), destHost);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    return 0;
  }

  private noteRefused(refused: { name: string; reason: string }[], io: JobIO): void {
    for (const r of refused) {
      io.stderr(`docker (rebuild shim): not copied: ${r.name}: ${r.reason}\n`);
      this.ctx.log(`shim: cp refused ${r.name}: ${r.reason}`);
    }
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
          await this.forget(name);
          break;
        case 'stop':
        case 'kill':
          await this.ctx.docker
            .getContainer(c.id || (await c.done).containerId)
            .kill()
            .catch(() => undefined);
          await c.done.catch(() => undefined);
          break;
        case 'wait': {
          const o = await c.done;
          io.stdout(`${o.exitCode}\n`);
          break;
        }
        case 'logs':
          await c.done.catch(() => undefined);
          for (const chunk of c.output) io.stdout(chunk);
          break;
      }
      if (cmd.kind !== 'wait' && cmd.kind !== 'logs') io.stdout(`${name}\n`);
    }
    return code;
  }

  private async forget(name: string): Promise<void> {
    const c = this.started.get(name);
    if (!c) return;
    this.started.delete(name);
    const outcome = await c.done.catch(() => undefined);
    const id = c.id || outcome?.containerId;
    if (id) await removeContainer(this.ctx.docker, id);
  }

  /** Removes every container this build started (kept for `docker cp`). */
  async cleanup(): Promise<void> {
    const names = [...this.started.keys()];
    await Promise.allSettled(
      names.map(async (n) => {
        const c = this.started.get(n);
        if (c && !c.settled) {
          const id = c.id;
          if (id)
            await this.ctx.docker
              .getContainer(id)
              .kill()
              .catch(() => undefined);
        }
        await this.forget(n);
      }),
    );
  }

  /**
   * Maps a path the recipe names inside the host-runner container to the
   * host. Only paths inside the work directory are allowed, and symlinks
   * are resolved on the host so that a link cannot point a mount elsewhere.
   */
  private async hostPath(path: string, cwd: string, create: boolean): Promise<string> {
    const inContainer = posix.resolve(cwd, path);
    const root = this.ctx.work.container;
    if (!(inContainer === root || inContainer.startsWith(`${root}/`))) {
      throw new PolicyError(
        `"${path}" is outside the work directory ${root}; rebuild mounts and copies only work directories`,
      );
    }
    const rel = posix.relative(root, inContainer);
    const host = join(this.ctx.work.host, rel);
    if (create) await mkdir(host, { recursive: true });
    const real = await realpath(host).catch(() => undefined);
    const checked = real ?? join(await realpath(join(host, '..')).catch(() => host), basename(host));
    if (!isInside(await realpath(this.ctx.work.host), checked)) {
      throw new PolicyError(`"${path}" resolves outside the work directory through a symlink`);
    }
    return checked;
  }
}

class PolicyError extends Error {}

function platformMatches(platform: string, arch: Arch): boolean {
  const p = platform.toLowerCase();
  return arch === 'aarch64' ? /arm64|aarch64/.test(p) : /amd64|x86_64/.test(p);
}
