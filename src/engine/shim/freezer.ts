import type Docker from 'dockerode';
import { messageOf } from '../../util/errors.js';
import { OWNER_LABEL } from '../cleanup.js';
import { PolicyError } from './work-paths.js';

/** Label of the short-lived containers rebuild itself runs for `docker cp` (never frozen). */
export const HELPER_LABEL = 'dev.rebuild.shim-helper';

/**
 * Serialises every shim operation that must see the work directory hold
 * still (checking and mounting a bind source, reading an archive, writing a
 * copy), and freezes every running container that can write the work
 * directory while such an operation runs. Which containers can write it is
 * asked of the engine (their mounts), not taken from rebuild's own
 * bookkeeping, so a container the shim lost track of is frozen too.
 */
export class WorkFreezer {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly docker: Docker,
    /** The work directory on the host: every container mounting it (or below) is a writer. */
    private readonly workHost: string,
  ) {}

  /** Runs `fn` alone, with every writer of the work directory frozen; thaws them afterwards. */
  async frozen<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.lock();
    try {
      const paused = await this.freeze();
      try {
        return await fn();
      } finally {
        await this.thaw(paused);
      }
    } finally {
      release();
    }
  }

  /** Runs `fn` alone (no other frozen or exclusive section at the same time). */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.lock();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /**
   * A guard for runContainer: freezes the writers before the container is
   * created and thaws them once it has started (its mounts are then made),
   * telling `onStarted` its ID first so that the next freeze includes it.
   * `check` runs frozen, before the container is created (the bind sources).
   */
  startGuard(
    check: () => Promise<void>,
    onStarted: (id: string) => void,
  ): {
    enter(): Promise<void>;
    leave(id: string | undefined): Promise<void>;
  } {
    let release: (() => void) | undefined;
    let paused: string[] = [];
    return {
      enter: async () => {
        const unlock = await this.lock();
        try {
          paused = await this.freeze();
        } catch (err) {
          unlock();
          throw err;
        }
        try {
          await check();
        } catch (err) {
          await this.thaw(paused);
          unlock();
          throw err;
        }
        release = unlock;
      },
      leave: async (id) => {
        if (id) onStarted(id);
        try {
          await this.thaw(paused);
        } finally {
          release?.();
          release = undefined;
        }
      },
    };
  }

  private async lock(): Promise<() => void> {
    const previous = this.tail;
    let release: () => void = () => undefined;
    this.tail = new Promise<void>((r) => {
      release = r;
    });
    await previous;
    return release;
  }

  private async writers(): Promise<string[]> {
    const running = await this.docker.listContainers({ filters: { label: [OWNER_LABEL] } });
    const prefix = `${this.workHost}/`;
    return running
      .filter((c) => !(HELPER_LABEL in (c.Labels ?? {})))
      .filter((c) =>
        (c.Mounts ?? []).some((m) => m.Source === this.workHost || (m.Source ?? '').startsWith(prefix)),
      )
      .map((c) => c.Id);
  }

  private async freeze(): Promise<string[]> {
    const paused: string[] = [];
    try {
      for (const id of await this.writers()) {
        const c = this.docker.getContainer(id);
        // Counted as paused before asking: a pause that errors (or times out) but took effect is still undone.
        paused.push(id);
        try {
          await withDeadline(c.pause(), ENGINE_CALL_MS, 'pause');
        } catch (err) {
          const state = await c.inspect().then(
            (i) => i.State,
            () => undefined,
          );
          // Gone or exited in the meantime: it writes nothing any more.
          if (!state || (!state.Running && !state.Paused)) continue;
          if (state.Paused) continue;
          throw new PolicyError(`cannot freeze container ${id.slice(0, 12)}: ${messageOf(err)}`);
        }
      }
    } catch (err) {
      await this.thaw(paused);
      throw err;
    }
    return paused;
  }

  private async thaw(paused: string[]): Promise<void> {
    await Promise.allSettled(
      paused.map((id) => withDeadline(this.docker.getContainer(id).unpause(), ENGINE_CALL_MS, 'unpause')),
    );
    // Only rebuild pauses these, and only inside this lock: whatever is still paused is undone too.
    const still = await this.docker
      .listContainers({ filters: { label: [OWNER_LABEL], status: ['paused'] } })
      .catch(() => []);
    const prefix = `${this.workHost}/`;
    await Promise.allSettled(
      still
        .filter((c) =>
          (c.Mounts ?? []).some((m) => m.Source === this.workHost || (m.Source ?? '').startsWith(prefix)),
        )
        .map((c) => this.docker.getContainer(c.Id).unpause()),
    );
  }
}

/** An engine call that does not answer within this long is treated as failed (a hang guard, not a timing). */
const ENGINE_CALL_MS = 60_000;

async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the engine did not ${what} within ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
