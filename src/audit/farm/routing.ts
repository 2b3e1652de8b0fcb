/**
 * Which worker may run which job, as pure functions: resource needs from the
 * per-package override file, worker tags, queue names, priorities, and the
 * native-first rule for foreign arches.
 */
import type { Arch } from '../../engine/types.js';
import { RebuildError } from '../../util/errors.js';
import { GOOD, type StoredResult, type Unit } from '../types.js';

export type Tags = Record<string, string>;
export type WorkerMode = 'native' | 'emulated';

export interface WorkerCaps {
  name: string;
  arches: ReadonlyArray<{ arch: Arch; mode: WorkerMode }>;
  tags: Tags;
  jobs: number;
  busy: number;
  alive: boolean;
}

const SIZE = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B?|)$/i;
const FACTOR: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** `16G`, `512M`, `8` as a number (sizes in bytes, binary units); undefined when not a quantity. */
export function quantity(v: string): number | undefined {
  const m = SIZE.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) * FACTOR[m[2]!.charAt(0).toUpperCase()]!;
}

/** `memory=16G,cpus=8` (or repeated `--tags`) as tags; a malformed one is a usage error naming it. */
export function parseTags(values: readonly string[], what = '--tags'): Tags {
  const out: Tags = {};
  for (const part of values.flatMap((v) => v.split(','))) {
    const t = part.trim();
    if (!t) continue;
    const m = /^([A-Za-z][\w.-]*)=([^\s=]+)$/.exec(t);
    if (!m) {
      throw new RebuildError('usage', `${what}: cannot read "${t}"`, {
        fix: 'write name=value pairs, e.g. memory=16G,cpus=8,kvm=yes',
      });
    }
    out[m[1]!] = m[2]!;
  }
  return out;
}

/**
 * A worker satisfies a need when it has the tag and, for quantities, at
 * least as much (memory=32G satisfies memory=16G); other values must match.
 */
export function satisfies(tags: Tags, needs: Tags): boolean {
  for (const [k, want] of Object.entries(needs)) {
    const have = tags[k];
    if (have === undefined) return false;
    const w = quantity(want);
    const h = quantity(have);
    if (w !== undefined && h !== undefined) {
      if (h < w) return false;
    } else if (have !== want) return false;
  }
  return true;
}

/**
 * The per-package needs file: one package per line, `name-or-pkg_id
 * key=value …` (the names as in the packages list, `#` comments). A line it
 * cannot read is an input error naming the file and line.
 */
export function parseNeedsFile(text: string, file: string): Map<string, Tags> {
  const out = new Map<string, Tags>();
  text.split('\n').forEach((line, i) => {
    const t = line.replace(/#.*$/, '').trim();
    if (!t) return;
    const [name, ...rest] = t.split(/\s+/);
    try {
      out.set(name!, parseTags(rest, `${file} line ${i + 1}`));
    } catch (err) {
      throw new RebuildError('input', (err as Error).message, {
        subject: file,
        fix: 'write `<package or pkg_id> memory=16G cpus=8` on each line',
      });
    }
  });
  return out;
}

/** A unit's needs: by unit key, pkg_id, `pkg#repo` or pkg, the most precise first. */
export function needsOf(unit: Unit, needs: ReadonlyMap<string, Tags>): Tags {
  const r = unit.record;
  return (
    needs.get(unit.key) ?? needs.get(r.pkgId) ?? needs.get(`${r.pkg}#${r.repo}`) ?? needs.get(r.pkg) ?? {}
  );
}

/** One queue per arch and set of needs, so a worker only fetches what it can run. */
export function queueName(arch: Arch, needs: Tags): string {
  const parts = Object.keys(needs)
    .sort()
    .map((k) => `${k}-${needs[k]}`.replace(/[^A-Za-z0-9_-]/g, '_'));
  return ['rebuild', arch, ...parts].join('.');
}

/** Higher runs first: new versions, then units that could regress, then first audits, then the rest. */
export function priorityOf(unit: Unit, prev: StoredResult | undefined): number {
  if (!prev) return 1;
  if (prev.version !== unit.record.version) return 3;
  if (GOOD.includes(prev.verdict)) return 2;
  return 0;
}

/**
 * Whether `me` should take a job from a queue now. A foreign arch goes to a
 * native worker when one that satisfies the needs is alive and has a free
 * slot; an emulated worker takes it only when none is.
 */
export function shouldTake(
  me: WorkerCaps,
  queue: { arch: Arch; needs: Tags },
  others: readonly WorkerCaps[],
): boolean {
  const mine = me.arches.find((a) => a.arch === queue.arch);
  if (!mine || !satisfies(me.tags, queue.needs)) return false;
  if (mine.mode === 'native') return true;
  return !others.some(
    (w) =>
      w.name !== me.name &&
      w.alive &&
      w.busy < w.jobs &&
      satisfies(w.tags, queue.needs) &&
      w.arches.some((a) => a.arch === queue.arch && a.mode === 'native'),
  );
}

/** Whether any alive worker could ever run a job of this queue (else it is waiting, not lost). */
export function routable(queue: { arch: Arch; needs: Tags }, workers: readonly WorkerCaps[]): boolean {
  return workers.some(
    (w) => w.alive && satisfies(w.tags, queue.needs) && w.arches.some((a) => a.arch === queue.arch),
  );
}
