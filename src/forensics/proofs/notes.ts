/**
 * Non-allocated note sections (SHT_NOTE outside every program header).
 *
 * Proven to be a well-formed note sequence that fills the section exactly
 * (sizes, NUL-terminated owner names, zero padding), where every note has a
 * known owner and type and a descriptor shaped as that type requires:
 *
 * - GNU: ABI tag (16 bytes, a known OS and small version numbers), gold
 *   version (text), properties (known property types of 4 or 8 bytes each);
 *   not a build-id: the linker puts it in a loaded note, and outside one its
 *   up to 64 free bytes would be a payload that nothing reads;
 * - Go: build id (text);
 * - stapsdt: SystemTap probes (three addresses inside the loaded image, the
 *   semaphore's possibly 0, and three text strings);
 * - FDO: packaging metadata (a NUL-terminated JSON object).
 *
 * Why nothing hides here: no loader reads these notes; what they may hold is
 * text or a few small numbers (at most NOTE_COUNT notes and NOTE_LIMIT
 * bytes per section): an unknown owner,
 * an unknown type, a malformed descriptor or bytes after the last note are
 * refused, so neither machine code nor an opaque payload passes.
 */
import { Cursor, isText, need, quote } from './cursor.js';
import { loadedSpan } from './symbols.js';
import type { Proof } from './types.js';

export const NOTE_LIMIT = 64 << 10;
export const NOTE_COUNT = 256;
const TEXT_LIMIT = 4096;

/** `span`: the lowest and highest address the PT_LOADs map (a probe's addresses lie inside). */
type DescCheck = (desc: Buffer, c: Cursor, wordSize: number, span: readonly [bigint, bigint]) => void;

const textDesc: DescCheck = (d) => {
  const body = d.at(-1) === 0 ? d.subarray(0, -1) : d;
  need(body.length <= TEXT_LIMIT && isText(body), `its descriptor ${quote(d)} is not text`);
};

const KNOWN: Record<string, Record<number, DescCheck>> = {
  GNU: {
    // NT_GNU_ABI_TAG: OS (Linux, Hurd, Solaris, FreeBSD, NetBSD, Syllable), then major.minor.sub.
    1: (d, c) => {
      need(d.length === 16, `its ABI tag descriptor is ${d.length} bytes, not 16`);
      const os = c.u32();
      need(os <= 5, `its ABI tag names an unknown OS (${os})`);
      for (let i = 0; i < 3; i++) need(c.u32() < 1000, 'its ABI tag holds an implausible version number');
    },
    // NT_GNU_GOLD_VERSION.
    4: textDesc,
    // NT_GNU_PROPERTY_TYPE_0: pr_type, pr_datasz, data (aligned to the word size).
    5: (d, c, wordSize) => {
      need(d.length <= 256, `its property descriptor is ${d.length} bytes, more than 256`);
      let last = -1;
      while (c.left > 0) {
        const type = c.u32();
        const size = c.u32();
        const known =
          (type === 1 && size === wordSize) || // GNU_PROPERTY_STACK_SIZE
          (type === 2 && size === 0) || // GNU_PROPERTY_NO_COPY_ON_PROTECTED
          // Generic 1_NEEDED / UINT32_AND / UINT32_OR masks, then the x86, AArch64 and RISC-V ones.
          (((type >= 0xb0000000 && type <= 0xb000ffff) || (type >= 0xc0000000 && type <= 0xc001ffff)) &&
            size === 4);
        need(known, `it holds an unknown property (type 0x${type.toString(16)}, ${size} bytes)`);
        // Linkers write each property once, sorted by type.
        need(type > last, `its properties are not sorted by type, once each (0x${type.toString(16)})`);
        last = type;
        c.skip(size);
        const pad = ((c.pos + wordSize - 1) & ~(wordSize - 1)) - c.pos;
        if (pad > 0 && c.left > 0) {
          need(c.left >= pad, 'its last property is cut short');
          for (let i = 0; i < pad; i++) need(c.u8() === 0, 'the padding between its properties is not zero');
        } else if (pad > 0) need(false, 'its last property is not padded to the word size');
      }
    },
  },
  // Go's build id note (NT_GO_BUILDID).
  Go: { 4: textDesc },
  // SystemTap probe: pc, base, semaphore addresses, then provider, name and arguments.
  stapsdt: {
    3: (_d, c, wordSize, [lo, hi]) => {
      const inside = (x: bigint) => x >= lo && x < hi;
      const pc = c.uint(wordSize);
      const base = c.uint(wordSize);
      const semaphore = c.uint(wordSize);
      // Addresses of the probe site, of .stapsdt.base and of the semaphore: not free bytes.
      need(inside(pc), `its probe address 0x${pc.toString(16)} lies outside the loaded image`);
      need(inside(base), `its probe base 0x${base.toString(16)} lies outside the loaded image`);
      need(
        semaphore === 0n || inside(semaphore),
        `its probe semaphore 0x${semaphore.toString(16)} lies outside the loaded image`,
      );
      for (const what of ['provider', 'name', 'arguments']) {
        need(isText(c.cstr()), `its probe ${what} is not text`);
      }
      need(c.left === 0, `its probe has ${c.left} byte(s) after its arguments`);
    },
  },
  // Packaging metadata (systemd's ELF package notes): a JSON object.
  FDO: {
    3405650558: (d) => {
      textDesc(d, new Cursor(d, true), 0, [0n, 0n]);
      need(d.at(-1) === 0, 'its package metadata is not NUL-terminated');
      let v: unknown;
      try {
        v = JSON.parse(d.toString('utf8', 0, d.length - 1));
      } catch {
        need(false, 'its package metadata is not JSON');
      }
      need(
        typeof v === 'object' && v !== null && !Array.isArray(v),
        'its package metadata is not a JSON object',
      );
    },
  },
};

export const proveNotes: Proof = ({ bytes, elf, section }) => {
  need(bytes.length <= NOTE_LIMIT, `it is ${bytes.length} bytes, more than ${NOTE_LIMIT} (notes are small)`);
  const little = elf.header.endian === 'little';
  const align = section.addralign === 8n ? 8 : 4;
  const wordSize = elf.header.class === 64 ? 8 : 4;
  const span = loadedSpan(elf);
  const c = new Cursor(bytes, little);
  let count = 0;
  need(bytes.length > 0, 'it is empty');
  while (c.left > 0) {
    need(++count <= NOTE_COUNT, `it holds more than ${NOTE_COUNT} notes`);
    const at = c.pos;
    const namesz = c.u32();
    const descsz = c.u32();
    const type = c.u32();
    need(namesz > 0 && namesz <= 64, `the note at offset ${at} has an owner name of ${namesz} bytes`);
    need(namesz <= c.left, `the note at offset ${at} runs past the end of the section`);
    const name = bytes.subarray(c.pos, c.pos + namesz);
    need(
      name[namesz - 1] === 0 && name.indexOf(0) === namesz - 1,
      `the note at offset ${at} has an owner name that is not one NUL-terminated string`,
    );
    const owner = name.toString('latin1', 0, namesz - 1);
    c.skip(namesz);
    padding(c, align, at);
    need(descsz <= c.left, `the note at offset ${at} (descsz ${descsz}) runs past the end of the section`);
    const desc = bytes.subarray(c.pos, c.pos + descsz);
    const check = Object.hasOwn(KNOWN, owner) ? KNOWN[owner]![type] : undefined;
    need(
      check !== undefined,
      `the note at offset ${at} has an unknown owner or type (${quote(Buffer.from(owner, 'latin1'))}, type ${type})`,
    );
    check(desc, new Cursor(desc, little), wordSize, span);
    c.skip(descsz);
    padding(c, align, at);
  }
  return undefined;
};

function padding(c: Cursor, align: number, at: number): void {
  const pad = Math.min(((c.pos + align - 1) & ~(align - 1)) - c.pos, c.left);
  for (let i = 0; i < pad; i++) need(c.u8() === 0, `the padding of the note at offset ${at} is not zero`);
}
