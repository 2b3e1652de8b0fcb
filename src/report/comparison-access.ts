/**
 * Small accessors over the Comparison document: the report reads it through
 * these, so a change of its shape is adapted here, once.
 */
import type { Comparison, Difference, Explanation, FileFacts, LayoutEntry } from '../forensics/types.js';

export const differencesOf = (c: Comparison): Difference[] => c.differences;
export const explanationsOf = (c: Comparison): Explanation[] => c.explanations;
export const layoutOfFile = (f: FileFacts): LayoutEntry[] => f.elf?.layout ?? [];

/** The two values a header difference names (`…: a 0x1040, b 0x1050`), when it does. */
export function differenceValues(d: Difference): { a: string; b: string } | undefined {
  const m = /:\s*a\s+(.+?),\s*b\s+(.+)$/.exec(d.detail);
  return m?.[1] !== undefined && m[2] !== undefined ? { a: m[1], b: m[2] } : undefined;
}

/** The region's name, or each side's own (`.rodata in a, .text in b`) when they differ (unrelated layouts). */
export function sidesRegion(d: Difference): string {
  return d.names ? `${d.names.a} in a, ${d.names.b} in b` : d.region;
}

/**
 * What a person calls the region, for grouped headlines: `entry point`,
 * `program header`, `ELF header field`, or the section name.
 */
export function regionLabel(d: Difference): { label: string; countable: boolean } {
  if (d.region === 'header') {
    if (/e_entry|entry point/i.test(d.detail)) return { label: 'entry point', countable: false };
    if (/program header|PT_|segment/i.test(d.detail)) return { label: 'program header', countable: true };
    if (/section header/i.test(d.detail)) return { label: 'section header', countable: true };
    return { label: 'ELF header field', countable: true };
  }
  if (d.region.startsWith('segment:')) return { label: 'segment', countable: true };
  return { label: d.region, countable: false };
}

/** `3 program headers, entry point, .text` (first-seen order; more than `max` groups end in `and N more`). */
export function groupedRegions(ds: readonly Difference[], max = 6): string {
  const groups = new Map<string, { n: number; countable: boolean }>();
  for (const d of ds) {
    const { label, countable } = regionLabel(d);
    const g = groups.get(label);
    if (g) g.n++;
    else groups.set(label, { n: 1, countable });
  }
  const parts = [...groups.entries()].map(([label, g]) =>
    g.n > 1 ? (g.countable ? `${g.n} ${label}s` : `${label} (${g.n}×)`) : label,
  );
  const shown = parts.slice(0, max);
  const more = parts.length - shown.length;
  return `${shown.join(', ')}${more > 0 ? `, and ${more} more` : ''}`;
}

/** An explanation's detail split into items when it lists many (offsets, names). */
export function explanationItems(e: Explanation): string[] {
  for (const sep of [/;\s+/, /,\s+/]) {
    const parts = e.detail.split(sep).filter((p) => p.trim() !== '');
    if (parts.length >= 6) return parts;
  }
  return [e.detail];
}

/**
 * A path as it is once the work is published: output is written into
 * `.<name>.partial-<hex>` and renamed to `<name>`, so a report made inside
 * the staging directory names the final place, not one that no longer exists.
 */
export function displayPath(p: string): string {
  return p.replace(/(^|\/)\.([^/]+?)\.partial-[0-9a-f]+(?=\/|$)/g, '$1$2');
}
