/**
 * The comparison document: what `rebuild compare --json` prints and what the
 * reports render. Field names are a public contract (issue 3); add fields,
 * never rename them.
 */

export type Verdict = 'identical' | 'equivalent' | 'different';

/** How the verdict was reached. */
export type Route =
  | 'identical' // same bytes
  | 'post-processing' // a == pkgforge's objcopy+strip applied to b
  | 'accounting' // the loader's view (program headers, mapped bytes) plus accounting of the bytes outside it
  | 'bytes'; // not ELF: compared as bytes (and text)

export interface FileFacts {
  path: string;
  size: number;
  sha256: string;
  blake3: string;
  /** What the file was read as. */
  format: 'elf' | 'text' | 'binary';
  elf?: ElfFacts;
}

export interface ElfFacts {
  class: 32 | 64;
  endian: 'little' | 'big';
  /** e_machine by name where known (`x86_64`, `aarch64`, …), else `machine-<n>`. */
  machine: string;
  /** e_type by name: `EXEC`, `DYN`, `REL`, `CORE`, or `type-<n>`. */
  type: string;
  /** e_entry as 0x-prefixed hex. */
  entry: string;
  sections: number;
  segments: number;
  /** GNU build-id as hex, when the file has one. */
  buildId?: string;
  /**
   * Whether the build-id still matches the contents, recomputed the way the
   * linker did (null: could not be recomputed, e.g. unknown hash style, or
   * was not, in large files proven identical: see buildIdStatus).
   */
  buildIdMatches?: boolean | null;
  /**
   * The build-id check in words: `matches the contents`, `stripped after
   * linking (expected for post-processed files)`, `modified after linking`
   * `could not be recomputed` or `not recomputed: the files are identical`.
   */
  buildIdStatus?: string;
  hardening: Hardening;
  /** Byte accounting: where every byte of the file belongs. */
  accounting: AccountingSummary;
  /** Where headers, sections and loadable segments lie in the file (for the byte map). */
  layout?: LayoutEntry[];
}

export interface LayoutEntry {
  kind: 'header' | 'table' | 'segment' | 'section';
  name: string;
  offset: number;
  size: number;
}

export interface Hardening {
  pie: boolean;
  relro: 'full' | 'partial' | 'none';
  bindNow: boolean;
  /** null when there is no PT_GNU_STACK (the loader's default applies). */
  nxStack: boolean | null;
  /** x86 CET: indirect branch tracking / shadow stack, from GNU property notes. */
  cetIbt: boolean;
  cetShstk: boolean;
  /** AArch64 BTI / PAC, from GNU property notes. */
  bti: boolean;
  pac: boolean;
  /** true/false when symbols show it (__stack_chk_fail), null when stripped. */
  stackProtector: boolean | null;
  /** Statically linked (no PT_INTERP, no PT_DYNAMIC). */
  static: boolean;
}

export interface AccountingSummary {
  /** Bytes covered by: ELF header, program headers, sections, section header table. */
  header: number;
  programHeaders: number;
  sections: number;
  sectionHeaders: number;
  /**
   * Bytes inside segments (loadable or not) that no section covers: loaded
   * anyway, so compared as segment contents. Always set by rebuild's reader.
   */
  segments?: number;
  /** Zero bytes between covered ranges (alignment). */
  zeroPadding: number;
  /** Non-zero bytes between covered ranges that no segment explains. */
  unaccounted: number;
  /** Bytes after the last thing any header describes. */
  trailing: number;
  /** The unaccounted and trailing ranges themselves (offset, size). */
  unaccountedRanges: ByteRange[];
}

export interface ByteRange {
  offset: number;
  size: number;
}

/** A benign difference, fully explained. */
export type ExplanationKind =
  | 'comment' // .comment removed or changed
  | 'notes' // note sections / PT_NOTE / PT_GNU_PROPERTY removed or changed
  | 'build-id' // .note.gnu.build-id differs
  | 'symbols' // .symtab/.strtab (non-allocated) removed or changed
  | 'debug' // .debug_* / .zdebug_* removed or changed
  | 'post-processing' // a change made by pkgforge's objcopy+strip (e.g. GNU_RELRO dropped)
  | 'layout'; // file layout and header bookkeeping the loader does not use: offsets moved, section header table, section name table, alignment/address of non-loadable headers

export interface Explanation {
  kind: ExplanationKind;
  detail: string;
  /** Optional: the section or header concerned, and sizes on each side. */
  region?: string;
  a?: ByteRange;
  b?: ByteRange;
}

export type Hint = 'timestamp' | 'path';

/** A difference that is not benign. */
export interface Difference {
  /** Section name, `header`, `trailing`, `segment:<n>`, or `unaccounted`. */
  region: string;
  detail: string;
  hint?: Hint;
  /** Where the region is in each file (absent on the side that lacks it). */
  a?: ByteRange;
  b?: ByteRange;
  /**
   * Each side's own name for the differing bytes (its section, or
   * `segment:<n>`), when one side's is not `region`: in files laid out
   * differently (unrelated files), each side is labelled with its own.
   */
  names?: { a: string; b: string };
  /** Offset within the region of the first differing byte, and how many bytes differ. */
  firstDifference?: number;
  differingBytes?: number;
  /** Context for a person: hex, disassembly or a text diff. */
  context?: DiffContext;
}

/**
 * Something a person should know that is not a difference: bytes no header
 * accounts for that are the same on both sides, a side judged on its
 * program headers alone, section headers that contradict the program headers.
 */
export interface Observation {
  region: string;
  detail: string;
  a?: ByteRange;
  b?: ByteRange;
}

export interface DiffContext {
  kind: 'hex' | 'disassembly' | 'text';
  /** Rendered lines for each side (hex dump or disassembly), or a unified diff in `unified`. */
  a?: string[];
  b?: string[];
  unified?: string;
}

export interface HardeningComparison {
  a: Hardening;
  b: Hardening;
  /** Names of the Hardening fields that differ, losses first. */
  differs: string[];
}

export interface PostProcessingFacts {
  /** The exact commands simulated (pkgforge CI order). */
  steps: string[];
  /** What the post-processing removed or changed on b, hardening losses first. */
  changes: string[];
  /** Whether a equals post-processed b byte for byte. */
  matches: boolean;
  /** Tool used (e.g. `aarch64-linux-gnu-strip 2.40`), or why it could not run. */
  tool?: string;
  skipped?: string;
  /** The profile of record whose commands these are (the one that reproduced a, when one did). */
  profile?: string;
  /** Every candidate profile, in order: simulated in that order until one reproduced a. */
  tried?: string[];
}

export interface Comparison {
  schema: 'rebuild.compare/1';
  verdict: Verdict;
  route: Route;
  a: FileFacts;
  b: FileFacts;
  explanations: Explanation[];
  differences: Difference[];
  /** Reported, not differences (see Observation). Absent when there are none. */
  observations?: Observation[];
  hardening?: HardeningComparison;
  postProcessing?: PostProcessingFacts;
  /** Whole-file text diff, when neither is ELF and both are text. */
  textDiff?: string;
  durationMs: number;
}
