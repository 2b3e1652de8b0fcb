/**
 * Hand-built ELF files for reader tests: any class and endianness, one
 * PT_LOAD holding .text and a build-id note, plus a section name table.
 */

export interface SyntheticOptions {
  class: 32 | 64;
  endian: 'little' | 'big';
  machine: number;
  text?: Buffer;
  /** Extra bytes after the section header table. */
  trailing?: Buffer;
  entry?: number;
}

export interface Synthetic {
  bytes: Buffer;
  textOffset: number;
  shoff: number;
}

export function buildElf(o: SyntheticOptions): Synthetic {
  const is64 = o.class === 64;
  const le = o.endian === 'little';
  const ehsize = is64 ? 64 : 52;
  const phent = is64 ? 56 : 32;
  const shent = is64 ? 64 : 40;
  const text = o.text ?? Buffer.from('0123456789abcdef0123456789abcdef', 'latin1');
  const desc = Buffer.alloc(20, 0xab);
  const note = Buffer.alloc(16 + desc.length);
  const w32 = (b: Buffer, off: number, v: number) => (le ? b.writeUInt32LE(v, off) : b.writeUInt32BE(v, off));
  const w16 = (b: Buffer, off: number, v: number) => (le ? b.writeUInt16LE(v, off) : b.writeUInt16BE(v, off));
  const wW = (b: Buffer, off: number, v: number) => {
    if (is64) {
      if (le) b.writeBigUInt64LE(BigInt(v), off);
      else b.writeBigUInt64BE(BigInt(v), off);
    } else w32(b, off, v);
  };
  w32(note, 0, 4);
  w32(note, 4, desc.length);
  w32(note, 8, 3);
  note.write('GNU\0', 12, 'latin1');
  desc.copy(note, 16);
  const names = Buffer.from('\0.text\0.note.gnu.build-id\0.shstrtab\0', 'latin1');
  const phoff = ehsize;
  const noteOff = phoff + phent; // 4-aligned
  const textOff = noteOff + note.length;
  const namesOff = textOff + text.length;
  const shoffUnaligned = namesOff + names.length;
  const shoff = (shoffUnaligned + 7) & ~7;
  const nsec = 4;
  const size = shoff + nsec * shent;
  const buf = Buffer.alloc(size);
  buf.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1, 0], 0);
  w16(buf, 16, 2); // ET_EXEC
  w16(buf, 18, o.machine);
  w32(buf, 20, 1);
  const w = is64 ? 8 : 4;
  const base = 0x10000;
  wW(buf, 24, o.entry ?? base + textOff);
  wW(buf, 24 + w, phoff);
  wW(buf, 24 + 2 * w, shoff);
  const at = 24 + 3 * w;
  w32(buf, at, 0);
  w16(buf, at + 4, ehsize);
  w16(buf, at + 6, phent);
  w16(buf, at + 8, 1);
  w16(buf, at + 10, shent);
  w16(buf, at + 12, nsec);
  w16(buf, at + 14, 3);
  // PT_LOAD covering [0, namesOff)
  const p = phoff;
  w32(buf, p, 1);
  if (is64) {
    w32(buf, p + 4, 5);
    wW(buf, p + 8, 0);
    wW(buf, p + 16, base);
    wW(buf, p + 24, base);
    wW(buf, p + 32, namesOff);
    wW(buf, p + 40, namesOff);
    wW(buf, p + 48, 0x1000);
  } else {
    w32(buf, p + 4, 0);
    w32(buf, p + 8, base);
    w32(buf, p + 12, base);
    w32(buf, p + 16, namesOff);
    w32(buf, p + 20, namesOff);
    w32(buf, p + 24, 5);
    w32(buf, p + 28, 0x1000);
  }
  note.copy(buf, noteOff);
  text.copy(buf, textOff);
  names.copy(buf, namesOff);
  const sec = (
    i: number,
    name: number,
    type: number,
    flags: number,
    addr: number,
    off: number,
    sz: number,
    al: number,
  ) => {
    const s = shoff + i * shent;
    w32(buf, s, name);
    w32(buf, s + 4, type);
    if (is64) {
      wW(buf, s + 8, flags);
      wW(buf, s + 16, addr);
      wW(buf, s + 24, off);
      wW(buf, s + 32, sz);
      wW(buf, s + 48, al);
    } else {
      w32(buf, s + 8, flags);
      w32(buf, s + 12, addr);
      w32(buf, s + 16, off);
      w32(buf, s + 20, sz);
      w32(buf, s + 32, al);
    }
  };
  sec(1, 1, 1, 6, base + textOff, textOff, text.length, 4); // .text AX
  sec(2, 7, 7, 2, base + noteOff, noteOff, note.length, 4); // .note.gnu.build-id A
  sec(3, 26, 3, 0, 0, namesOff, names.length, 1); // .shstrtab
  return { bytes: o.trailing ? Buffer.concat([buf, o.trailing]) : buf, textOffset: textOff, shoff };
}
