import { resolve } from 'node:path';
import Docker from 'dockerode';
import { execa, type Result } from 'execa';
import { OWNER_LABEL, OWNER_PID_LABEL } from '../../src/engine/cleanup.js';

export const REPO = resolve(import.meta.dirname, '../..');
export const BIN = resolve(REPO, 'bin/rebuild.js');

/**
 * Runs the real CLI (the compiled `bin/rebuild.js`, as a user would) and
 * never throws: tests look at the exit code, stdout and stderr.
 */
export function rebuild(
  args: string[],
  opts: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {},
) {
  return execa('node', [BIN, ...args], {
    reject: false,
    cwd: opts.cwd ?? REPO,
    timeout: opts.timeoutMs ?? 15 * 60_000,
    env: { CI: '1', ...opts.env },
    stdin: 'ignore',
    // A test's kill('SIGTERM') must reach rebuild's own cleanup: execa's default follows it with
    // SIGKILL after 5 s, which a loaded machine can need for removing containers.
    forceKillAfterDelay: 60_000,
  });
}

export type CliResult = Result<{ reject: false }>;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Containers rebuild made whose rebuild process has ended: left behind. (A
 * container whose owner still runs belongs to work in progress elsewhere.)
 */
export async function leftoverContainers(): Promise<string[]> {
  const docker = new Docker();
  const list = await docker.listContainers({ all: true, filters: { label: [OWNER_LABEL] } });
  return list
    .filter((c) => !alive(Number(c.Labels[OWNER_PID_LABEL])))
    .map((c) => `${c.Names.join(',')} (${c.Image}, ${c.State})`);
}
