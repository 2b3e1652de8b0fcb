/**
 * Recomputes a GNU build-id the way linkers compute it, to tell whether a
 * file changed after linking (strip, objcopy, patching all break it). A
 * mismatch in a file without a symbol table is worded as stripping, which
 * post-processing does on purpose; the verdict never rests on this.
 *
 * GNU ld (bfd `elf_checksum_contents`, checked here by experiment on fresh
 * gcc/ld 2.40 binaries): the hash (sha1 or md5, by descriptor size) runs over
 * the ELF header with e_phoff and e_shoff zeroed, every program header, then
 * for each section its header with sh_offset zeroed followed by its contents,
 * skipping SHT_NOBITS and the tables ld writes after the build-id
 * (.symtab, its string table, .symtab_shndx, .shstrtab); the build-id
 * section's contents count as zeros.
 *
 * lld: the whole output file with the descriptor zeroed, split into 1 MiB
 * chunks, each hashed, then the concatenated chunk hashes hashed again
 * (sha1/md5). gold (single-threaded): the whole file with the descriptor
 * zeroed. GNU ld's is tried first; lld's or gold's only when the file bears
 * that linker's mark (see wholeFileLinker).
 */
import { createHash, type Hash } from 'node:crypto';
import { SHT } from './elf/constants.js';
import { buildIdNote, type ElfFile } from './elf/reader.js';
import { chunks } from './elf/source.js';

export interface BuildIdCheck {
  buildId?: string;
  /** true: recomputed and equal; false: a known style and no match; null: unknown style. */
  matches: boolean | null;
  /** The linker style that matched. */
  style?: 'gnu-ld' | 'lld' | 'whole-file';
  /** For a person: what the match or mismatch means. */
  status?: string;
}

/** The sentence for a build-id check (no cry of wolf for stripped files). */
export function buildIdStatus(elf: ElfFile, matches: boolean | null): string {
  if (matches === true) return 'matches the contents';
  if (matches === null) return 'could not be recomputed';
  const stripped = !elf.sections.some((s) => s.type === SHT.SYMTAB);
  return stripped ? 'stripped after linking (expected for post-processed files)' : 'modified after linking';
}

/** Feeds [offset, offset+size) to `update`, with bytes in [zeroFrom, zeroTo) replaced by zeros. */
async function feed(
  elf: ElfFile,
  offset: number,
  size: number,
  zeroFrom: number,
  zeroTo: number,
  update: (b: Buffer) => void,
): Promise<void> {
  let pos = offset;
  for await (const c of chunks(elf.source, offset, size)) {
    const s = pos;
    const e = pos + c.length;
    if (zeroTo > s && zeroFrom < e) {
      const copy = Buffer.from(c);
      copy.fill(0, Math.max(0, zeroFrom - s), Math.min(c.length, zeroTo - s));
      update(copy);
    } else {
      update(c);
    }
    pos = e;
  }
}

/**
 * What GNU ld hashes, in order: literal bytes (headers with their offsets
 * zeroed, the build-id section as zeros) and file ranges (section contents).
 * The hash threads can digest it while they read the file (see
 * `streamableBuildIdPlan`), so the file is not read a second time.
 */
export type ByteRun = Buffer | { offset: number; size: number } | { zeros: number };

async function gnuLdPlan(elf: ElfFile, descFrom: number, descTo: number): Promise<ByteRun[]> {
  const plan: ByteRun[] = [];
  const hd = elf.header;
  const is64 = hd.class === 64;
  const ehsize = is64 ? 64 : 52;
  const eh = Buffer.from(await elf.source.read(0, ehsize));
  const w = is64 ? 8 : 4;
  eh.fill(0, 24 + w, 24 + 3 * w); // e_phoff, e_shoff
  plan.push(eh);
  const phent = is64 ? 56 : 32;
  for (const p of elf.segments) plan.push(await elf.source.read(hd.phoff + p.index * hd.phentsize, phent));
  const symtabs = elf.sections.filter((s) => s.type === SHT.SYMTAB);
  const skip = new Set<number>([hd.shstrndx]);
  for (const s of symtabs) skip.add(s.link);
  const shent = is64 ? 64 : 40;
  const offField = is64 ? 24 : 16;
  for (const s of elf.sections) {
    const raw = Buffer.from(await elf.source.read(hd.shoff + s.index * hd.shentsize, shent));
    raw.fill(0, offField, offField + w);
    plan.push(raw);
    if (s.type === SHT.NOBITS || s.size === 0 || s.index === 0) continue;
    if (s.type === SHT.SYMTAB || s.type === SHT.SYMTAB_SHNDX || skip.has(s.index)) continue;
    const holdsId = descFrom >= s.offset && descTo <= s.offset + s.size;
    plan.push(holdsId ? { zeros: s.size } : { offset: s.offset, size: s.size });
  }
  return plan;
}

async function digestPlan(elf: ElfFile, algo: string, plan: readonly ByteRun[]): Promise<string> {
  const h = createHash(algo);
  for (const run of plan) {
    if (Buffer.isBuffer(run)) h.update(run);
    else if ('zeros' in run) updateZeros(h, run.zeros);
    else await feed(elf, run.offset, run.size, 0, 0, (b) => h.update(b));
  }
  return h.digest('hex');
}

/** `n` zero bytes, a MiB at a time (a hostile section may claim the whole file). */
function updateZeros(h: Hash, n: number): void {
  const zeros = Buffer.alloc(Math.min(n, 1 << 20));
  for (let left = n; left > 0; left -= zeros.length)
    h.update(zeros.subarray(0, Math.min(left, zeros.length)));
}

/** The build-id's hash algorithm and where its descriptor lies, when it can be recomputed. */
function buildIdTarget(
  elf: ElfFile,
): { id: string; algo?: 'sha1' | 'md5'; from: number; to: number } | undefined {
  const note = buildIdNote(elf);
  if (!note) return undefined;
  const algo = note.desc.length === 20 ? 'sha1' : note.desc.length === 16 ? 'md5' : undefined;
  const from = note.descOffset;
  return { id: note.desc.toString('hex'), ...(algo ? { algo } : {}), from, to: from + note.desc.length };
}

/**
 * GNU ld's build-id input for a hash pass over the whole file, when its file
 * ranges come in file order without overlapping (as ld lays sections out);
 * undefined when there is nothing to recompute or the plan cannot be streamed
 * (then `checkBuildId` reads the ranges itself).
 */
export async function streamableBuildIdPlan(
  elf: ElfFile,
): Promise<{ algorithm: 'sha1' | 'md5'; runs: ByteRun[] } | undefined> {
  const t = buildIdTarget(elf);
  if (!t?.algo || elf.sections.length === 0) return undefined;
  const plan = await gnuLdPlan(elf, t.from, t.to);
  let pos = 0;
  for (const run of plan) {
    if (Buffer.isBuffer(run) || 'zeros' in run) continue;
    if (run.offset < pos || run.offset + run.size > elf.size) return undefined;
    pos = run.offset + run.size;
  }
  return { algorithm: t.algo, runs: plan };
}

/**
 * The linker whose whole-file style a build-id may follow, from the marks each
 * leaves: lld names itself in .comment ("Linker: LLD …"), gold adds a
 * NT_GNU_GOLD_VERSION note. Without either the whole file is not hashed again
 * (twice, once per style) only to tell a GNU ld file modified after linking.
 */
const NT_GNU_GOLD_VERSION = 4;
const MAX_COMMENT = 64 << 10;
async function wholeFileLinker(elf: ElfFile): Promise<'lld' | 'whole-file' | undefined> {
  if (elf.notes.some((n) => n.name === 'GNU' && n.type === NT_GNU_GOLD_VERSION)) return 'whole-file';
  const comment = elf.sections.find((s) => s.name === '.comment' && s.type === SHT.PROGBITS);
  if (!comment || comment.size > MAX_COMMENT || comment.offset + comment.size > elf.size) return undefined;
  const text = Buffer.from(await elf.source.read(comment.offset, comment.size)).toString('latin1');
  return text.includes('Linker: ') && text.includes('LLD') ? 'lld' : undefined;
}

/** lld's digest (1 MiB chunks hashed, then their digests) or gold's (the whole file), the descriptor zeroed. */
async function wholeFile(
  elf: ElfFile,
  algo: string,
  descFrom: number,
  descTo: number,
  style: 'lld' | 'whole-file',
): Promise<string> {
  if (style === 'whole-file') {
    const flat = createHash(algo);
    await feed(elf, 0, elf.size, descFrom, descTo, (b) => flat.update(b));
    return flat.digest('hex');
  }
  const tree = createHash(algo);
  const MiB = 1 << 20;
  let chunk = createHash(algo);
  let inChunk = 0;
  await feed(elf, 0, elf.size, descFrom, descTo, (b) => {
    let p = 0;
    while (p < b.length) {
      const n = Math.min(MiB - inChunk, b.length - p);
      chunk.update(b.subarray(p, p + n));
      inChunk += n;
      p += n;
      if (inChunk === MiB) {
        tree.update(chunk.digest());
        chunk = createHash(algo);
        inChunk = 0;
      }
    }
  });
  if (inChunk > 0) tree.update(chunk.digest());
  return tree.digest('hex');
}

/** Why a build-id was left unchecked in files proven identical (see checkBuildId). */
export const NOT_RECOMPUTED_IDENTICAL = 'not recomputed: the files are identical';

/**
 * `gnuLdDigest`: GNU ld's hash of the file when a hash pass already computed it
 * from `streamableBuildIdPlan` (same algorithm, same input); null: not
 * recomputed, as the files compared are the same bytes (a large file's third
 * hash, which only explains changes made after linking, and identical files
 * have none to explain).
 */
export async function checkBuildId(elf: ElfFile, gnuLdDigest?: string | null): Promise<BuildIdCheck> {
  const t = buildIdTarget(elf);
  if (!t) return { matches: null };
  const { id, algo, from, to } = t;
  if (gnuLdDigest === null) return { buildId: id, matches: null, status: NOT_RECOMPUTED_IDENTICAL };
  if (!algo) return { buildId: id, matches: null, status: buildIdStatus(elf, null) };
  const gnuLd = async () => gnuLdDigest ?? digestPlan(elf, algo, await gnuLdPlan(elf, from, to));
  if (elf.sections.length > 0 && (await gnuLd()) === id) {
    return { buildId: id, matches: true, style: 'gnu-ld', status: buildIdStatus(elf, true) };
  }
  const style = await wholeFileLinker(elf);
  if (style && (await wholeFile(elf, algo, from, to, style)) === id)
    return { buildId: id, matches: true, style, status: buildIdStatus(elf, true) };
  // A 16-byte id may be a random --build-id=uuid: nothing to recompute.
  const matches = algo === 'sha1' ? false : null;
  return { buildId: id, matches, status: buildIdStatus(elf, matches) };
}
