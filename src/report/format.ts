import { createRequire } from 'node:module';
/**
 * Small, pure formatting helpers shared by the text, Markdown and HTML
 * renderers. Strings from binaries and file paths are hostile input: every
 * renderer passes them through `clean` (control and bidi characters made
 * visible) before its own escaping.
 */

/** `0x1a2 (418)`: offsets and sizes in hex and decimal. */
export function hexDec(n: number): string {
  return `${hex(n)} (${dec(n)})`;
}

export function hex(n: number): string {
  return n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
}

/**
 * `1,234`. Integers are grouped here: the first toLocaleString of a process
 * loads ICU's number formatting (about 20 ms, more than the rest of a small
 * report); other numbers keep its rounding.
 */
export function dec(n: number): string {
  if (Number.isSafeInteger(n)) return String(n).replace(/\B(?=(\d{3})+$)/g, ',');
  return n.toLocaleString('en-US');
}

/** `1 byte` / `12 bytes`. */
export function bytes(n: number): string {
  return `${dec(n)} ${n === 1 ? 'byte' : 'bytes'}`;
}

/** `0x200 (512) bytes`. */
export function sizeHexDec(n: number): string {
  return `${hexDec(n)} ${n === 1 ? 'byte' : 'bytes'}`;
}

/** Human size for a summary line: `912 B`, `1.4 MiB`. */
export function humanSize(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** `850 ms`, `12.3 s`, `4 min 05 s`. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return 'unknown';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const min = Math.floor(s / 60);
  const rest = Math.round(s - min * 60);
  return `${min} min ${String(rest).padStart(2, '0')} s`;
}

/**
 * Makes control characters, bidi overrides and other invisible troublemakers
 * visible as escapes (`\x1b`, `\n`, `\u202e`), so that hostile strings can
 * neither drive a terminal nor hide text. Tabs become `\t` here; code lines
 * go through `expandTabs` first.
 */
/** What `clean` replaces: C0 controls, DEL, C1 controls, bidi embeddings/overrides/isolates, line/paragraph separators, BOM/ZWNBSP. */
export const UNCLEAN_CHARS =
  '\\u0000-\\u001f\\u007f-\\u009f\\u200e\\u200f\\u202a-\\u202e\\u2028\\u2029\\u2066-\\u2069\\ufeff';
const UNCLEAN = new RegExp(`[${UNCLEAN_CHARS}]`, 'g');

export function clean(s: string): string {
  return s.replace(UNCLEAN, (ch) => {
    const code = ch.charCodeAt(0);
    if (ch === '\n') return '\\n';
    if (ch === '\r') return '\\r';
    if (ch === '\t') return '\\t';
    if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
    return `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Expands tabs to spaces (8-column stops), then `clean`s the rest. */
export function codeLine(s: string): string {
  if (!s.includes('\t')) return clean(s);
  let out = '';
  let col = 0;
  for (const ch of s) {
    if (ch === '\t') {
      const n = 8 - (col % 8);
      out += ' '.repeat(n);
      col += n;
    } else {
      out += ch;
      col++;
    }
  }
  return clean(out);
}

/**
 * The characters the renderers draw with (rules, marks, arrows), one column
 * each as string-width measures them (a test holds the two equal). None
 * joins a neighbour into a grapheme cluster, so a string of them and printable
 * ASCII is as wide as it is long, and string-width is not needed for it.
 */
export const DRAWN_CHARACTERS = '─│═║┌┐└┘├┤┬┴┼—–…→≠·×•’›▶▸◂▲▼●○■□✓✔✗✖';
const DRAWN = new Set(DRAWN_CHARACTERS);

/**
 * string-width, loaded at its first use: importing it (an ICU segmenter,
 * Unicode property sets) and its first call cost 60–150 ms of start-up, and
 * most reports hold only printable ASCII and DRAWN_CHARACTERS. require() of
 * an ES module: Node 20.19 and 22.13 on (package.json's engines).
 */
type Width = (s: string) => number;
let loadedWidth: Width | undefined;
function stringWidth(s: string): number {
  loadedWidth ??= (createRequire(import.meta.url)('string-width') as { default: Width }).default;
  return loadedWidth(s);
}

/** Widths of the other non-ASCII characters seen so far (bounded: hostile strings hold many). */
const WIDTHS = new Map<string, number>();

/** Printable ASCII or a drawn character: one column, whatever its neighbours. */
function oneColumn(ch: string): boolean {
  const c = ch.charCodeAt(0);
  return ch.length === 1 && ((c >= 0x20 && c < 0x7f) || DRAWN.has(ch));
}

/** Terminal columns of one code point: 1 for printable ASCII (the fast path), else string-width's (wide 2, combining 0). */
export function charWidth(ch: string): number {
  if (oneColumn(ch)) return 1;
  // A report repeats few distinct characters thousands of times, and string-width
  // costs microseconds a call (35 ms of a small compare's text report).
  let w = WIDTHS.get(ch);
  if (w === undefined) {
    w = stringWidth(ch);
    if (WIDTHS.size < 4096) WIDTHS.set(ch, w);
  }
  return w;
}

/** Display width in terminal columns (East Asian wide characters and emoji take 2, combining marks 0). */
export function width(s: string): number {
  // ASCII-only strings (nearly all here) are as wide as they are long; so are those with drawn characters.
  if (/^[\x20-\x7e]*$/.test(s)) return s.length;
  for (const ch of s) if (!oneColumn(ch)) return stringWidth(s);
  return s.length;
}

/** Cuts to `w` columns, ending with `…` when something was cut. */
export function truncEnd(s: string, w: number): string {
  if (width(s) <= w) return s;
  if (w <= 1) return '…'.slice(0, Math.max(0, w));
  let out = '';
  let used = 0;
  for (const ch of s) {
    const cw = charWidth(ch);
    if (used + cw > w - 1) break;
    out += ch;
    used += cw;
  }
  return `${out}…`;
}

export function padEnd(s: string, w: number): string {
  const n = width(s);
  return n >= w ? s : s + ' '.repeat(w - n);
}

/** The longest run of backticks in `s` (for choosing a Markdown fence). */
export function longestBacktickRun(s: string): number {
  let best = 0;
  for (const m of s.matchAll(/`+/g)) best = Math.max(best, m[0].length);
  return best;
}

/**
 * A time for people: local, with the zone, and how long ago
 * (`2026-12-01 04:12 CET (2 h ago)`). `timeZone` for tests.
 */
export function localTime(iso: string, now: Date = new Date(), timeZone?: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  return `${localStamp(iso, timeZone)} (${relativeTime(t, now)})`;
}

// One formatter per zone: making one costs far more than using it, and an audit report
// stamps every verdict of every package's strip (14 × 10,000 at 30 nights).
const stampFormats = new Map<string, Intl.DateTimeFormat>();
function stampFormat(timeZone: string | undefined): Intl.DateTimeFormat {
  const key = timeZone ?? '';
  let f = stampFormats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
      ...(timeZone ? { timeZone } : {}),
    });
    stampFormats.set(key, f);
  }
  return f;
}

// Stamps by zone and UTC minute: a stamp shows minutes, and zones change offset on a
// minute, so every time within one minute has the same stamp. An audit's strips hold
// about one minute a package a night, many of them the same; formatting is the cost.
const stampsByMinute = new Map<string, Map<number, string>>();
const STAMPS_KEPT = 100_000;
const WHOLE_MINUTE_ZONES_MS = Date.UTC(1972, 0, 1);

/** A time for a column of times: local, with the zone (`2026-12-01 04:12 CET`). */
export function localStamp(iso: string, timeZone?: string): string {
  const ms = new Date(iso).getTime();
  if (Number.isNaN(ms)) return iso;
  const key = timeZone ?? '';
  let stamps = stampsByMinute.get(key);
  if (!stamps) {
    stamps = new Map();
    stampsByMinute.set(key, stamps);
  }
  // Before 1972 some zones were offset by seconds (local mean times): no sharing there.
  const minute = ms >= WHOLE_MINUTE_ZONES_MS ? Math.floor(ms / 60_000) : ms / 60_000;
  let s = stamps.get(minute);
  if (s === undefined) {
    const parts = stampFormat(timeZone).formatToParts(new Date(minute * 60_000));
    const get = (k: string) => parts.find((p) => p.type === k)?.value ?? '';
    s = `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')} ${get('timeZoneName')}`;
    if (stamps.size >= STAMPS_KEPT) stamps.clear();
    stamps.set(minute, s);
  }
  return s;
}

/** `just now`, `5 min ago`, `2 h ago`, `3 days ago`, `in 2 h`. */
export function relativeTime(t: Date, now: Date = new Date()): string {
  const s = Math.round((now.getTime() - t.getTime()) / 1000);
  const a = Math.abs(s);
  const v =
    a < 60
      ? 'just now'
      : a < 3600
        ? `${Math.round(a / 60)} min`
        : a < 86400 * 2
          ? `${Math.round(a / 3600)} h`
          : `${Math.round(a / 86400)} days`;
  if (v === 'just now') return v;
  return s >= 0 ? `${v} ago` : `in ${v}`;
}
