/**
 * Content proofs for the non-loaded sections the explanation registry names
 * (explanations.ts): a section header's name and type only say what the
 * bytes claim to be; the proof reads them and checks they are that. A
 * section that does not prove out is not explained: its bytes are judged as
 * bytes nothing accounts for. Proofs never throw: whatever goes wrong while
 * reading hostile bytes becomes the reason.
 */
import { inflateSync } from 'node:zlib';
import type { ElfFile, SectionHeader } from '../elf/reader.js';
import type { ByteSource } from '../elf/source.js';
import { Cursor, checkStringTable, need, ProofFailure } from './cursor.js';
import type { Proof } from './types.js';
import { zstdExact } from './zstd.js';

/** Sections larger than this (stored or decompressed) are not read whole to be proven. */
export const PROOF_LIMIT = 64 << 20;
const SHF_COMPRESSED = 0x800n;
const ELFCOMPRESS_ZLIB = 1;
const ELFCOMPRESS_ZSTD = 2;

/**
 * Bytes the proofs of one file may be handed in all (its sections and the
 * sections they consult, decompressed), summed over every proof of that
 * file. Proofs read other sections (.debug_info for the location, address,
 * name and macro sections): without a total, a tiny compressed .debug_info
 * that inflates to PROOF_LIMIT bytes, consulted by thousands of section
 * headers of one name, would be decompressed and walked thousands of times.
 * An honest file reads its largest section a handful of times.
 */
export const PROOF_READ_LIMIT = 8 * PROOF_LIMIT;
const handed = new WeakMap<ElfFile, number>();

function charge(elf: ElfFile, bytes: Buffer): Buffer {
  const total = (handed.get(elf) ?? 0) + bytes.length;
  handed.set(elf, total);
  need(
    total <= PROOF_READ_LIMIT,
    `proving this file's sections has taken more than ${PROOF_READ_LIMIT} bytes of reading and decompressing (sections consulted over and over, or compressed far beyond what debug information needs); rebuild proves no more`,
  );
  return bytes;
}

export type ProofOutcome = { proven: true } | { proven: false; reason: string };

async function readSection(src: ByteSource, s: SectionHeader): Promise<Buffer> {
  need(
    s.size <= PROOF_LIMIT,
    `${s.name || `section ${s.index}`} is ${s.size} bytes, more than rebuild reads to prove (${PROOF_LIMIT})`,
  );
  need(s.offset + s.size <= src.size, `${s.name} runs past the end of the file`);
  return src.read(s.offset, s.size);
}

/** Inflates exactly `size` bytes from a zlib stream that must fill `data` to its last byte. */
function inflateExact(data: Buffer, size: bigint): Buffer {
  need(
    size <= BigInt(PROOF_LIMIT),
    `it claims ${size} bytes uncompressed, more than rebuild reads to prove (${PROOF_LIMIT})`,
  );
  let out: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    out = inflateSync(data, {
      info: true,
      maxOutputLength: Math.max(1, Number(size)),
    }) as unknown as typeof out;
  } catch (err) {
    throw new ProofFailure(`its compressed contents do not inflate (${(err as Error).message})`);
  }
  // zlib expands incompressible data by a few bytes per 16 KiB block: more is
  // padding (empty blocks) that carries nothing a toolchain writes.
  need(
    BigInt(data.length) <= size + (size >> 8n) + 64n,
    `its ${data.length} compressed bytes are far more than ${size} bytes need`,
  );
  need(
    BigInt(out.buffer.length) === size,
    `it inflates to ${out.buffer.length} bytes, not the ${size} its header claims`,
  );
  need(
    out.engine.bytesWritten === data.length,
    `it has ${data.length - out.engine.bytesWritten} byte(s) after its compressed stream`,
  );
  return out.buffer;
}

/** A debug section's contents as DWARF: SHF_COMPRESSED (zlib, zstd) or `.zdebug_` ("ZLIB" + size) decoded. */
async function uncompressed(elf: ElfFile, s: SectionHeader, raw: Buffer): Promise<Buffer> {
  if ((s.flags & SHF_COMPRESSED) !== 0n) {
    const c = new Cursor(raw, elf.header.endian === 'little');
    const type = c.u32();
    const reserved = elf.header.class === 64 ? c.u32() : 0;
    const size = elf.header.class === 64 ? c.u64() : BigInt(c.u32());
    const align = elf.header.class === 64 ? c.u64() : BigInt(c.u32());
    // Compression header fields toolchains fill: ch_reserved is 0, ch_addralign a power of two.
    need(reserved === 0, 'its compression header has a reserved field that is not zero');
    need(
      align <= 1n << 16n && (align & (align - 1n)) === 0n,
      `its compression header has an implausible alignment (${align})`,
    );
    if (type === ELFCOMPRESS_ZSTD) return zstdExact(raw.subarray(c.pos), size, PROOF_LIMIT);
    need(
      type === ELFCOMPRESS_ZLIB,
      `it is compressed with an unsupported method (${type}); rebuild proves zlib and zstd only`,
    );
    return inflateExact(raw.subarray(c.pos), size);
  }
  if (s.name.startsWith('.zdebug_')) {
    need(
      raw.length >= 12 && raw.toString('latin1', 0, 4) === 'ZLIB',
      'it lacks the "ZLIB" header of a .zdebug section',
    );
    return inflateExact(raw.subarray(12), raw.readBigUInt64BE(4));
  }
  return raw;
}

/**
 * A debug section's contents as DWARF (decompressed), charged to the file's
 * read total like a proof's; throws a ProofFailure naming what is wrong.
 */
export async function debugContents(elf: ElfFile, src: ByteSource, s: SectionHeader): Promise<Buffer> {
  return charge(elf, await uncompressed(elf, s, await readSection(src, s)));
}

/**
 * Proves one section's contents with `proof`; `compressed` says whether it
 * may be stored compressed (debug sections).
 */
export async function prove(
  elf: ElfFile,
  src: ByteSource,
  section: SectionHeader,
  proof: Proof,
  compressed = false,
): Promise<ProofOutcome> {
  try {
    const raw = await readSection(src, section);
    const bytes = charge(elf, compressed ? await uncompressed(elf, section, raw) : raw);
    need(
      compressed || (section.flags & SHF_COMPRESSED) === 0n,
      'it is stored compressed, which this kind of section never is',
    );
    // Sections a proof consults (a symbol table's strings, DWARF's abbreviations) as they are meant.
    const read = async (s: SectionHeader) =>
      charge(elf, await uncompressed(elf, s, await readSection(src, s)));
    const reason = await proof({ elf, section, bytes, read });
    return reason === undefined ? { proven: true } : { proven: false, reason };
  } catch (err) {
    if (err instanceof ProofFailure) return { proven: false, reason: err.message };
    return {
      proven: false,
      reason: `it could not be read (${err instanceof Error ? err.message : String(err)})`,
    };
  }
}

/** The section name table: NUL-terminated text names (unused bytes are checked apart, outside.ts). */
export const proveNameTable: Proof = ({ bytes }) => {
  checkStringTable(bytes, 'it', true);
  return undefined;
};
