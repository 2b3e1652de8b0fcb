/**
 * The one registry of explanation kinds: how each is labelled, in which
 * order it is reported, what proves it, whether it may ever excuse a byte
 * the loader maps, and which non-loaded sections it names. The mapped type
 * makes the type checker keep it complete: adding a kind to ExplanationKind
 * without an entry here does not compile.
 *
 * Section names and types are untrusted hints: `names` is only ever asked
 * about sections that lie wholly outside every program header's file range
 * (the loader never reads them), see outside.ts.
 */
import { SHT } from './elf/constants.js';
import { type ElfFile, isAlloc, type SectionHeader } from './elf/reader.js';
import { compareDebugPair } from './pairwise/debug.js';
import { compareNameTablesPair } from './pairwise/section-names.js';
import { compareSymbolsPair } from './pairwise/symbols.js';
import type { PairProof } from './pairwise/types.js';
import { onlyInPublished, verbatimPair } from './pairwise/verbatim.js';
import { proveComment } from './proofs/comment.js';
import { proveDebug } from './proofs/debug.js';
import { proveNameTable } from './proofs/index.js';
import { proveNotes } from './proofs/notes.js';
import { proveSymbolStrings, proveSymtab, proveSymtabShndx } from './proofs/symbols.js';
import type { Proof } from './proofs/types.js';
import type { Explanation, ExplanationKind } from './types.js';

interface BaseSpec {
  /** Short label, e.g. in "symbol tables: .symtab differs". */
  label: string;
  /** Report order (lower first). */
  order: number;
  /** What proves a difference of this kind benign. */
  proof: string;
  /** Whether this kind can ever excuse bytes inside the loader's view. */
  loaded: boolean;
}

/**
 * A kind that names non-loaded sections must also prove their contents: a
 * name or type is a claim, the proof reads the bytes and checks them.
 */
export type ExplanationSpec = BaseSpec &
  (
    | {
        /** Non-loaded sections of this kind (never consulted for loaded bytes). */
        names: (s: SectionHeader, ctx: SectionContext) => boolean;
        /** Checks that such a section's bytes are what the kind says (proofs/). */
        proves: Proof;
        /** Whether the section may be stored compressed (SHF_COMPRESSED, .zdebug_). */
        compressed?: (s: SectionHeader) => boolean;
        /**
         * When both sides carry the section and its bytes differ: a's judged
         * against b's (pairwise/), not only for being well-formed.
         */
        pair?: PairProof;
        /**
         * Why a's section is a difference when b has none (undefined: the
         * one-sided proof explains it). What b lacks cannot be checked against
         * anything: post-processing only explains what it removes from b.
         */
        onlyInA?: (s: SectionHeader) => string | undefined;
      }
    | { names?: undefined; proves?: undefined; compressed?: undefined; pair?: undefined; onlyInA?: undefined }
  );

/** What the `names` predicates need to know about the file, computed once (linear). */
export interface SectionContext {
  shstrndx: number;
  /** Indexes of the string tables that symbol tables link to. */
  symbolStrings: ReadonlySet<number>;
}

export function sectionContext(elf: ElfFile): SectionContext {
  const symbolStrings = new Set<number>();
  for (const t of elf.sections) if (t.type === SHT.SYMTAB) symbolStrings.add(t.link);
  return { shstrndx: elf.header.shstrndx, symbolStrings };
}

const DEBUG_NAMES = new Set(['.gnu_debuglink', '.gnu_debugaltlink', '.stab', '.stabstr', '.line', '.debug']);

export const EXPLANATIONS: { readonly [K in ExplanationKind]: ExplanationSpec } = {
  'post-processing': {
    label: "pkgforge's post-processing",
    order: 0,
    proof:
      "the published file equals the rebuilt file after pkgforge's own objcopy/strip commands, simulated on the rebuilt side only",
    loaded: false,
  },
  'build-id': {
    label: 'build-id note',
    order: 1,
    proof:
      'only the descriptor of a well-formed GNU (NT_GNU_BUILD_ID) or Go build-id note differs; the note sits at the same offset on both sides, inside a PT_NOTE that describes it, in no executable LOAD and no other program header, and the stack is not executable',
    loaded: true,
  },
  notes: {
    label: 'notes',
    order: 2,
    proof:
      "a note section outside every program header (no loader reads it) whose notes parse exactly, each with a known owner and type and a descriptor of that shape; where both sides carry it, a's equals b's byte for byte (two builds of one source write the same notes); notes only a carries are never explained",
    loaded: false,
    names: (s) => s.type === SHT.NOTE && !isAlloc(s),
    proves: proveNotes,
    pair: verbatimPair('non-loaded notes'),
    onlyInA: () => onlyInPublished('non-loaded notes'),
  },
  comment: {
    label: '.comment',
    order: 3,
    proof:
      "a non-allocated .comment outside every program header (no loader reads it) holding only short NUL-terminated identification strings of known compilers and linkers; where both sides carry one, a's equals b's byte for byte; a .comment only a carries is never explained",
    loaded: false,
    names: (s) => s.name === '.comment' && !isAlloc(s),
    proves: proveComment,
    pair: verbatimPair('identification strings'),
    onlyInA: () => onlyInPublished('a .comment'),
  },
  symbols: {
    label: 'symbol tables',
    order: 4,
    proof:
      "a non-allocated symbol table (or its string table) outside every program header, well-formed entry by entry (names in range and text, symbols inside the loaded image), its string table holding only names its symbols use; where both sides carry one that differs, every symbol of a's is one b's holds (name and value) with b's size, binding, type and visibility, source file symbols differing at most by one build directory; a symbol table only a carries is never explained",
    loaded: false,
    names: (s, ctx) =>
      !isAlloc(s) &&
      (s.type === SHT.SYMTAB ||
        s.type === SHT.SYMTAB_SHNDX ||
        (s.type === SHT.STRTAB && ctx.symbolStrings.has(s.index))),
    proves: (x) =>
      x.section.type === SHT.SYMTAB
        ? proveSymtab(x)
        : x.section.type === SHT.SYMTAB_SHNDX
          ? proveSymtabShndx(x)
          : proveSymbolStrings(x),
    pair: compareSymbolsPair,
    onlyInA: () => onlyInPublished('a symbol table'),
  },
  debug: {
    label: 'debug information',
    order: 5,
    proof:
      "a non-allocated debug section outside every program header that parses as what its name says (DWARF units and DIEs, text string tables, a debug link of name and CRC32 only, the name b's), within a size bound relative to the loaded image; where both sides carry a DWARF section that differs, a's carries b's values (DIE by DIE, line program by line program, string by string), strings differing only by the one build directory substitution the compile units' DW_AT_comp_dir give; a debug section only a carries is never explained",
    loaded: false,
    names: (s) =>
      !isAlloc(s) &&
      // gdb runs the scripts this section names or inlines when the file is debugged.
      s.name !== '.debug_gdb_scripts' &&
      (s.name.startsWith('.debug_') ||
        s.name.startsWith('.zdebug_') ||
        DEBUG_NAMES.has(s.name) ||
        ((s.type === SHT.RELA || s.type === SHT.REL) && /^\.rela?\.z?debug_/.test(s.name))),
    proves: proveDebug,
    compressed: (s) => s.name.startsWith('.debug_') || s.name.startsWith('.zdebug_'),
    pair: compareDebugPair,
    onlyInA: (s) =>
      /^\.z?debug_/.test(s.name)
        ? 'the published file carries debug information the rebuilt one lacks, and its contents cannot be checked against anything (well-formed DWARF still leaves its constants, blocks and strings free); rebuild the package unstripped, or compare against the unstripped rebuild'
        : onlyInPublished(`a ${s.name}`),
  },
  layout: {
    label: 'file layout',
    order: 6,
    proof:
      "section header bookkeeping the loader does not read: the section header table (each entry what a linker, objcopy or strip writes, field by field, proofs/section-headers.ts), the section name table (every non-NUL byte used by a name; where both sides carry one that differs, every name a's headers use is b's, an allocated section's that of b's section of that type at that address), and the ELF header fields e_shoff, e_shentsize, e_shnum, e_shstrndx",
    loaded: true,
    names: (s, ctx) => !isAlloc(s) && s.index === ctx.shstrndx,
    proves: proveNameTable,
    pair: compareNameTablesPair,
  },
};

/** Kinds in report order. */
export const EXPLANATION_ORDER: readonly ExplanationKind[] = (
  Object.keys(EXPLANATIONS) as ExplanationKind[]
).sort((x, y) => EXPLANATIONS[x].order - EXPLANATIONS[y].order);

/** The kind a non-loaded section may be explained as, or undefined. Layout first (the name table). */
const MATCH_ORDER: readonly ExplanationKind[] = [
  'layout',
  ...EXPLANATION_ORDER.filter((x) => x !== 'layout'),
];

export function nonLoadedKind(s: SectionHeader, ctx: SectionContext): ExplanationKind | undefined {
  for (const k of MATCH_ORDER) if (EXPLANATIONS[k].names?.(s, ctx)) return k;
  return undefined;
}

/**
 * Whether a file has sections that pkgforge's post-processing removes (by its
 * section headers). It only chooses the route (both routes are sound); an
 * allocated `.debug_gdb_scripts` (Rust) is kept by strip, so it does not count.
 */
export function hasRemovableSections(elf: ElfFile): boolean {
  return elf.sections.some(
    (s) =>
      s.index !== 0 &&
      (s.type === SHT.NOTE ||
        s.type === SHT.SYMTAB ||
        (!isAlloc(s) && (s.name === '.comment' || s.name.startsWith('.debug_')))),
  );
}

/** Collects explanation items by kind and renders one Explanation per kind, in registry order. */
export class ExplanationList {
  private readonly items = new Map<ExplanationKind, string[]>();
  private readonly extra: Explanation[] = [];
  add(kind: ExplanationKind, text: string): void {
    const list = this.items.get(kind) ?? [];
    if (list.length < 100) list.push(text);
    else if (list.length === 100) list.push('…');
    this.items.set(kind, list);
  }
  /** A whole explanation with its own detail (kept apart, ordered by kind). */
  push(e: Explanation): void {
    this.extra.push(e);
  }
  any(): boolean {
    return this.items.size > 0 || this.extra.length > 0;
  }
  has(kind: ExplanationKind): boolean {
    return this.items.has(kind) || this.extra.some((e) => e.kind === kind);
  }
  render(suffix: Partial<Record<ExplanationKind, string>> = {}): Explanation[] {
    const out: Explanation[] = [];
    for (const kind of EXPLANATION_ORDER) {
      out.push(...this.extra.filter((e) => e.kind === kind));
      const items = this.items.get(kind);
      if (items)
        out.push({ kind, detail: `${EXPLANATIONS[kind].label}: ${items.join('; ')}${suffix[kind] ?? ''}` });
    }
    return out;
  }
}
