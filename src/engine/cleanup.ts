import type Docker from 'dockerode';
import { isProcessAlive } from '../util/process.js';

/**
 * Every container rebuild creates carries these labels, so that a run that
 * was killed (even with SIGKILL) can be cleaned up by the next one, and so
 * that `docker ps -a --filter label=dev.rebuild.owner` shows ours.
 */
export const OWNER_LABEL = 'dev.rebuild.owner';
export const OWNER_PID_LABEL = 'dev.rebuild.owner-pid';

const live = new Map<string, Docker>();
let handlersInstalled = false;

export function ownerLabels(): Record<string, string> {
  return { [OWNER_LABEL]: 'rebuild', [OWNER_PID_LABEL]: String(process.pid) };
}

/** Remembers a container so that Ctrl-C or SIGTERM removes it. */
export function track(docker: Docker, id: string): void {
  live.set(id, docker);
  installSignalHandlers();
}

export function untrack(id: string): void {
  live.delete(id);
}

/** Force-removes every container this process still has. */
export async function removeAllTracked(): Promise<void> {
  const entries = [...live.entries()];
  live.clear();
  await Promise.allSettled(
    entries.map(([id, docker]) => docker.getContainer(id).remove({ force: true, v: true })),
  );
}

const interruptHandlers = new Set<() => void>();

/**
 * What happens once a forced stop has removed the containers. The engine
 * does not choose exit codes: the CLI registers this (src/cli/exit-codes.ts
 * owns the code); without one, the signal is raised again with its default
 * action, so the process ends the way the signal asks.
 */
let forcedStop: (signal: NodeJS.Signals) => void = (signal) => {
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
};

/** Sets what ends the process after a forced stop (see `forcedStop`). */
export function onForcedStop(handler: (signal: NodeJS.Signals) => void): void {
  forcedStop = handler;
}

/**
 * Registers a graceful reaction to Ctrl-C/SIGTERM (typically aborting an
 * AbortController so the work unwinds and cleans up). Returns the unregister
 * function. If the work has not unwound 60 s after the signal (systemd sends
 * SIGKILL at 90 s), or a second signal comes, the tracked containers are
 * force-removed and `forcedStop` runs.
 */
export function onInterrupt(handler: () => void): () => void {
  interruptHandlers.add(handler);
  installSignalHandlers();
  return () => {
    interruptHandlers.delete(handler);
    // The work unwound by itself: its own exit code stands, however long the
    // unwinding took on a loaded machine (a forced stop would say 143).
    if (interruptHandlers.size === 0 && graceTimer) {
      clearTimeout(graceTimer);
      graceTimer = undefined;
    }
  };
}

let graceTimer: NodeJS.Timeout | undefined;

function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  let received = 0;
  const forceExit = (signal: NodeJS.Signals) => {
    process.stderr.write(`\nrebuild: ${signal}: removing ${live.size} container(s)…\n`);
    void removeAllTracked().finally(() => forcedStop(signal));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      received++;
      if (received > 1 || interruptHandlers.size === 0) return forceExit(signal);
      process.stderr.write(`\nrebuild: ${signal}: stopping and cleaning up (again to force)…\n`);
      for (const h of [...interruptHandlers]) h();
      if (interruptHandlers.size > 0) graceTimer = setTimeout(() => forceExit(signal), 60_000).unref();
    });
  }
}

/**
 * Removes containers left by rebuild processes that no longer exist (killed
 * with SIGKILL, or the machine lost power). Returns how many were removed.
 */
export async function reapOrphans(docker: Docker): Promise<number> {
  const containers = await docker.listContainers({ all: true, filters: { label: [OWNER_LABEL] } });
  let removed = 0;
  for (const c of containers) {
    const pid = Number(c.Labels[OWNER_PID_LABEL]);
    if (pid === process.pid || isProcessAlive(pid)) continue;
    try {
      await docker.getContainer(c.Id).remove({ force: true, v: true });
      removed++;
    } catch {
      // already gone
    }
  }
  return removed;
}

/**
 * Force-removes rebuild's containers that mount `hostDir` or anything below
 * it, and says which could not be removed. A removed container runs no
 * process, so afterwards nothing but rebuild can change that directory.
 */
export async function removeContainersUsing(
  docker: Docker,
  hostDir: string,
): Promise<{ removed: string[]; stillThere: string[] }> {
  const uses = (c: Docker.ContainerInfo) =>
    (c.Mounts ?? []).some((m) => m.Source === hostDir || (m.Source ?? '').startsWith(`${hostDir}/`));
  const list = async () =>
    (await docker.listContainers({ all: true, filters: { label: [OWNER_LABEL] } })).filter(uses);
  const removed: string[] = [];
  // An engine that does not answer may still run them: then nothing is known to be safe.
  const first = await list().catch(() => undefined);
  if (!first) return { removed, stillThere: ['(the engine did not answer)'] };
  // None to remove: that answer already is the state afterwards (one round trip, not two).
  if (first.length === 0) return { removed, stillThere: [] };
  for (const c of first) {
    try {
      await docker.getContainer(c.Id).remove({ force: true, v: true });
      removed.push(c.Id.slice(0, 12));
    } catch {
      // reported below if it is still there
    }
  }
  const after = await list().catch(() => undefined);
  const stillThere = after ? after.map((c) => c.Id.slice(0, 12)) : ['(the engine did not answer)'];
  return { removed, stillThere };
}
