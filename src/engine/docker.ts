import { createRequire } from 'node:module';
import type Docker from 'dockerode';
import { RebuildError } from '../util/errors.js';

const require = createRequire(import.meta.url);

/**
 * Puts a stand-in for the CommonJS module `id` (one that exports a function)
 * in require's cache: it loads the real module on its first call and hands
 * every call to it, so behaviour is unchanged and only the loading moves.
 */
function loadOnFirstCall(id: string, from: string): void {
  const path = createRequire(from).resolve(id);
  if (require.cache[path]) return;
  let real: ((...args: unknown[]) => unknown) | undefined;
  const standIn = function (this: unknown, ...args: unknown[]): unknown {
    if (!real) {
      delete require.cache[path];
      real = require(path) as (...args: unknown[]) => unknown;
    }
    return real.apply(this, args);
  };
  const module = new (require('node:module') as typeof import('node:module')).Module(path);
  module.filename = path;
  module.loaded = true;
  module.exports = standIn;
  require.cache[path] = module;
}

/**
 * dockerode loads its BuildKit session (gRPC and protobuf) and docker-modem
 * its SSH transport as soon as dockerode is loaded: about 0.13 s of CPU at
 * every start-up, for what only `buildImage({ version: '2' })` and an
 * `ssh://` DOCKER_HOST use. Both load on first use instead.
 */
function loadDockerode(): typeof Docker {
  const main = require.resolve('dockerode');
  loadOnFirstCall('./session.js', main);
  loadOnFirstCall('docker-modem/lib/ssh.js', main);
  return require('dockerode') as typeof Docker;
}

const DockerClient = loadDockerode();

/** dockerode's client class (its heavy parts load on first use, see loadDockerode). */
export function engineClient(): typeof Docker {
  return DockerClient;
}

/** The fix for every "engine missing" error. */
export const ENGINE_FIX =
  'start the engine with `sudo bash scripts/setup-engine.sh` (installs docker.io and starts dockerd)';

/**
 * Connects to the Docker engine (DOCKER_HOST or the default socket) and
 * checks that it answers, so that a missing engine is one clear error
 * rather than a socket exception deep inside a build.
 */
export async function connectEngine(): Promise<Docker> {
  const docker = new DockerClient();
  try {
    await docker.ping();
  } catch (err) {
    const where = process.env.DOCKER_HOST ?? '/var/run/docker.sock';
    throw new RebuildError('environment', `no Docker engine answers at ${where}`, {
      subject: 'engine',
      fix: ENGINE_FIX,
      cause: err,
    });
  }
  return docker;
}

/** What rebuild reads from `docker info` (the rest of it is not used). */
export interface EngineInfo {
  ID?: string;
  DockerRootDir?: string;
  SecurityOptions?: string[];
}

const infos = new WeakMap<Docker, Promise<EngineInfo>>();

/**
 * `docker info`, asked once per connection (the engine's identity, its
 * user-namespace mode and its security options are read from it at several
 * places of one build; none changes without restarting the engine). A
 * failure is not kept: the next caller asks again.
 */
export function engineInfo(docker: Docker): Promise<EngineInfo> {
  let p = infos.get(docker);
  if (!p) {
    p = docker.info() as Promise<EngineInfo>;
    infos.set(docker, p);
    p.catch(() => infos.delete(docker));
  }
  return p;
}
