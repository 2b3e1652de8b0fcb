import { readFile, writeFile } from 'node:fs/promises';

/**
 * An sstrip-like copy of an x86_64 ELF64 file (what some packagers publish):
 * the section header table cut off (e_shoff, e_shnum, e_shstrndx zeroed)
 * and the file ending with the last byte a program header maps. Every
 * loaded byte is unchanged; rebuild compares such a file on the loader's
 * view alone (`equivalent`, explained as file layout).
 */
export async function sstripCopy(from: string, to: string): Promise<void> {
  const b = Buffer.from(await readFile(from));
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  let end = 0;
  for (let i = 0; i < b.readUInt16LE(0x38); i++) {
    const at = phoff + i * phentsize;
    end = Math.max(end, Number(b.readBigUInt64LE(at + 8) + b.readBigUInt64LE(at + 32)));
  }
  b.writeBigUInt64LE(0n, 0x28);
  b.writeUInt16LE(0, 0x3c);
  b.writeUInt16LE(0, 0x3e);
  await writeFile(to, b.subarray(0, end), { mode: 0o755 });
}
