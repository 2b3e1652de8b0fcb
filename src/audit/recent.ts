/**
 * The last verdicts of a unit as the store keeps them beside its results
 * (table `recent_verdicts`, one row per unit, updated in the transaction
 * that records a result): what the morning report's strip shows, read as
 * one short row per unit instead of every unit's whole history, so an
 * unchanged audit costs the same after 30 nights as after one.
 */
import type { StoredResult } from './types.js';

/** Verdicts kept per unit: the morning report's strip shows this many nights. */
export const RECENT_VERDICTS = 14;

export interface RecentVerdict {
  /** The result's id (the order). */
  id: number;
  auditId: number;
  verdict: StoredResult['verdict'];
  finishedAt: string;
}

type Encoded = [id: number, auditId: number, verdict: string, finishedAt: string];

/** The column's text: oldest first. */
export function encodeRecent(list: readonly RecentVerdict[]): string {
  return JSON.stringify(list.map((r): Encoded => [r.id, r.auditId, r.verdict, r.finishedAt]));
}

/** The column's text back; anything unreadable is `undefined` (the caller reads the results instead). */
export function decodeRecent(text: string): RecentVerdict[] | undefined {
  try {
    const raw = JSON.parse(text) as unknown;
    if (!Array.isArray(raw)) return undefined;
    const out: RecentVerdict[] = [];
    for (const e of raw) {
      if (!Array.isArray(e) || e.length !== 4) return undefined;
      const [id, auditId, verdict, finishedAt] = e as unknown[];
      if (
        typeof id !== 'number' ||
        typeof auditId !== 'number' ||
        typeof verdict !== 'string' ||
        typeof finishedAt !== 'string'
      )
        return undefined;
      out.push({ id, auditId, verdict: verdict as StoredResult['verdict'], finishedAt });
    }
    return out;
  } catch {
    return undefined;
  }
}

/** `list` with `next` (a newer result) added, the oldest dropped beyond RECENT_VERDICTS. */
export function appendRecent(list: readonly RecentVerdict[], next: RecentVerdict): RecentVerdict[] {
  const out = [...list.filter((r) => r.id < next.id), next];
  return out.length > RECENT_VERDICTS ? out.slice(out.length - RECENT_VERDICTS) : out;
}
