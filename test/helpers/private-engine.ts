/**
 * A second Docker engine of the test's own: its own socket, data root and
 * exec root, no user-namespace remapping, no bridge. The shared engine is
 * never touched; this one is stopped and its directories removed at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';

export interface PrivateEngine {
  docker: Docker;
  socket: string;
  stop(): Promise<void>;
}

export async function startPrivateEngine(): Promise<PrivateEngine> {
  // On the data root's own file system (overlay2 needs a real one, not a tmpfs or an overlay).
  const dir = await mkdtemp('/var/tmp/rebuild-test-engine-');
  const socket = join(dir, 'docker.sock');
  const proc: ChildProcess = spawn(
    '/usr/sbin/dockerd',
    [
      '--bridge=none',
      '--iptables=false',
      '--ip6tables=false',
      '--ip-forward=false',
      '--ip-masq=false',
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'dockerd.pid'),
      '--host',
      `unix://${socket}`,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const docker = new Docker({ socketPath: socket });
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  // A hang guard only (dockerd normally answers within seconds).
  for (let i = 0; i < 240; i++) {
    if (proc.exitCode !== null) break;
    if (
      await docker.ping().then(
        () => true,
        () => false,
      )
    )
      return { docker, socket, stop };
    await sleep(500);
  }
  await stop();
  throw new Error('the private dockerd did not start');
}
