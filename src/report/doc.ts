/**
 * A tiny document model: the comparison and the build summary are turned
 * into a list of blocks once, and the text, Markdown and HTML renderers draw
 * the same blocks. That is what keeps the three reports' content the same.
 */
import { dec } from './format.js';

/** How a piece of text is emphasised. Renderers map tones to colour/markup. */
export type Tone =
  | 'ok' // good news (identical, matches, hardening present)
  | 'warn' // benign but worth seeing (equivalent, hardening lost by post-processing)
  | 'bad' // a real difference
  | 'hint' // a hint for a person (timestamp / path)
  | 'dim' // secondary information
  | 'strong'; // plain emphasis

export interface Span {
  text: string;
  tone?: Tone;
  /** Monospace (hashes, offsets, names from the binary). */
  code?: boolean;
  /** A relative path to another report (HTML and Markdown link it; text shows the text). */
  href?: string;
}

/** Inline content: a string, a span, or a sequence of them. */
export type Rich = string | Span | readonly Rich[];

export interface Row {
  cells: Rich[];
  /** Marks the row (e.g. differing hardening). */
  mark?: Tone;
}

export type Block =
  | {
      t: 'verdict';
      /** `DIFFERENT`, `REPRODUCIBLE`, … */
      word: string;
      tone: Tone;
      /** The rest of the sentence. */
      text: string;
    }
  | { t: 'heading'; level: 2 | 3; text: Rich /** Anchor the byte map links to. */; id?: string }
  | { t: 'para'; text: Rich }
  | { t: 'list'; items: Rich[]; ordered?: boolean }
  | { t: 'kv'; rows: Array<[string, Rich]> }
  | {
      t: 'table';
      headers: string[];
      rows: Row[];
      /**
       * A `field | a | b | mark` comparison: in a narrow terminal it is drawn
       * as one record per field (a above b) instead of squeezing columns.
       */
      compare?: boolean;
    }
  | {
      t: 'code';
      title?: string;
      lines: string[];
      /** Lines of a unified diff (`+`, `-`, `@@`). */
      diff?: boolean;
      /** Per line of a diff: the words, with the changed ones marked (word-level highlight). */
      words?: Array<WordPart[] | undefined>;
    }
  | {
      t: 'sideBySide';
      title?: string;
      titles: [string, string];
      a: string[];
      b: string[];
      /** Per row, whether it differs (aligned rows; default: the two lines differ as text). */
      changed?: boolean[];
    }
  | { t: 'hexDiff'; title: string; titles: [string, string]; rows: HexRow[] }
  | { t: 'byteMap'; files: ByteMapFile[] };

/** A word of a diff line; `changed` words are highlighted. */
export interface WordPart {
  text: string;
  changed?: boolean;
}

/** One 16-byte row of a side-by-side hex view: two-digit bytes (undefined past the end). */
export interface HexRow {
  offset: number;
  a: Array<string | undefined>;
  b: Array<string | undefined>;
}

/** What a stretch of a file is, for the byte map. */
export type MapKind = 'differs' | 'explained' | 'unaccounted';

export interface MapRegion {
  name: string;
  offset: number;
  size: number;
  kind?: MapKind;
  /** The id of the heading that details it. */
  anchor?: string;
}

export interface ByteMapFile {
  label: string;
  size: number;
  /** Headers, sections and segments, to scale (the background). */
  layout: MapRegion[];
  /** Differing, explained and unaccounted ranges (drawn on top). */
  marks: MapRegion[];
}

export interface Doc {
  /** For the HTML <title>. */
  title: string;
  blocks: Block[];
  /** A last, dim line (schema, timing). */
  footer?: string;
}

export function spans(r: Rich, out: Span[] = []): Span[] {
  if (typeof r === 'string') {
    if (r !== '') out.push({ text: r });
  } else if (Array.isArray(r)) {
    for (const x of r as readonly Rich[]) spans(x, out);
  } else {
    const s = r as Span;
    if (s.text !== '') out.push(s);
  }
  return out;
}

export function plain(r: Rich): string {
  return spans(r)
    .map((s) => s.text)
    .join('');
}

export const code = (text: string, tone?: Tone): Span =>
  tone ? { text, code: true, tone } : { text, code: true };
export const tone = (t: Tone, text: string): Span => ({ text, tone: t });
/** A relative link to another report, its path shown as code. */
export const link = (path: string, href: string = path): Span => ({ text: path, code: true, href });

/**
 * Keeps blocks while their rendered size stays under `max` bytes (0 or
 * undefined: all), and says what was cut in a last paragraph.
 */
export function cutBlocks(blocks: Block[], size: (b: Block) => number, max: number | undefined): Block[] {
  if (!max) return blocks;
  let total = 0;
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[i] as Block;
    total += size(block);
    if (total > max && i > 0) {
      const rest = blocks.length - i;
      const headings = blocks.slice(i).filter((b) => b.t === 'heading').length;
      return [
        ...blocks.slice(0, i),
        {
          t: 'para',
          text: tone(
            'warn',
            `Report cut at ${dec(max)} bytes (--max-report-size): ${rest} more blocks` +
              `${headings ? ` under ${headings} headings` : ''} not shown; the JSON output has everything.`,
          ),
        },
      ];
    }
  }
  return blocks;
}
