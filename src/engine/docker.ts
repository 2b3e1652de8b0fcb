import Docker from 'dockerode';
import { RebuildError } from '../util/errors.js';

/** The fix for every "engine missing" error. */
export const ENGINE_FIX =
  'start the engine with `sudo bash scripts/setup-engine.sh` (installs docker.io and starts dockerd)';

/**
 * Connects to the Docker engine (DOCKER_HOST or the default socket) and
 * checks that it answers, so that a missing engine is one clear error
 * rather than a socket exception deep inside a build.
 */
export async function connectEngine(): Promise<Docker> {
  const docker = new Docker();
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
