/**
 * The loader-view route: rule 1 (everything the loader reads is equal, but
 * for build-id descriptors and the section-table fields of the ELF header)
 * and rule 2 (bytes outside it are named and explained, or different).
 */
import { type Findings as F, Findings, type RouteResult, resultOf } from '../findings.js';
import { describeHardening, hardeningDiffers } from '../hardening.js';
import { compareLoaded } from '../loader/compare.js';
import { compareOutside } from '../outside.js';
import type { Side } from '../side.js';

export interface LoaderRouteOptions {
  context: boolean;
  /** Prove the contents of explained non-loaded sections (default true; see OutsideOptions). */
  prove?: boolean;
}

export async function judgeElf(a: Side, b: Side, opts: LoaderRouteOptions): Promise<RouteResult> {
  const f: F = new Findings();
  await compareLoaded(a, b, f, opts);
  await compareOutside(a, b, f, opts);
  // The differences' contexts were drawn meanwhile (objdump ran beside the comparison).
  await f.drawn();
  if (f.dropped > 0) {
    f.differences.push({ region: 'more', detail: `${f.dropped} more difference(s) not listed` });
  }
  if (f.differences.length === 0 && f.observations.length === 0 && !f.explanations.any()) {
    f.explanations.add('layout', 'the files differ only in where non-loaded sections lie');
  }
  // Property notes are loaded: a difference in them is already a difference;
  // say what hardening they record when they differ.
  const lost = hardeningDiffers(a.hardening, b.hardening).filter((x) =>
    ['cetIbt', 'cetShstk', 'bti', 'pac'].includes(x),
  );
  const suffix =
    lost.length > 0
      ? {
          notes: ` — hardening recorded in the property notes differs: ${lost.map((x) => describeHardening(x, a.hardening, b.hardening)).join(', ')}`,
        }
      : {};
  return resultOf(f, suffix);
}
