/** ELF constants rebuild uses (from the System V gABI and the GNU extensions). */

export const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const;

export const ET = { NONE: 0, REL: 1, EXEC: 2, DYN: 3, CORE: 4 } as const;

export const PT = {
  NULL: 0,
  LOAD: 1,
  DYNAMIC: 2,
  INTERP: 3,
  NOTE: 4,
  SHLIB: 5,
  PHDR: 6,
  TLS: 7,
  GNU_EH_FRAME: 0x6474e550,
  GNU_STACK: 0x6474e551,
  GNU_RELRO: 0x6474e552,
  GNU_PROPERTY: 0x6474e553,
  GNU_SFRAME: 0x6474e554,
} as const;

export const PF = { X: 1, W: 2, R: 4 } as const;

export const SHT = {
  NULL: 0,
  PROGBITS: 1,
  SYMTAB: 2,
  STRTAB: 3,
  RELA: 4,
  HASH: 5,
  DYNAMIC: 6,
  NOTE: 7,
  NOBITS: 8,
  REL: 9,
  DYNSYM: 11,
  SYMTAB_SHNDX: 18,
} as const;

export const SHF = { WRITE: 1, ALLOC: 2, EXECINSTR: 4, INFO_LINK: 0x40 } as const;

/** Section indexes from here up are special (ABS, COMMON, XINDEX…), not sections. */
export const SHN_LORESERVE = 0xff00;
export const SHN_XINDEX = 0xffff;

/** Symbol types (st_info & 0xf). */
export const STT = { SECTION: 3, FILE: 4, TLS: 6 } as const;
export const PN_XNUM = 0xffff;

export const DT = {
  NULL: 0,
  NEEDED: 1,
  SONAME: 14,
  RPATH: 15,
  BIND_NOW: 24,
  RUNPATH: 29,
  FLAGS: 30,
  FLAGS_1: 0x6ffffffb,
} as const;

export const DF_BIND_NOW = 0x8;
export const DF_1_NOW = 0x1;
export const DF_1_PIE = 0x08000000;

export const NT_GNU_ABI_TAG = 1;
export const NT_GNU_BUILD_ID = 3;
export const NT_GNU_PROPERTY_TYPE_0 = 5;
export const GNU_PROPERTY_X86_FEATURE_1_AND = 0xc0000002;
export const GNU_PROPERTY_AARCH64_FEATURE_1_AND = 0xc0000000;
export const GNU_PROPERTY_X86_FEATURE_1_IBT = 1;
export const GNU_PROPERTY_X86_FEATURE_1_SHSTK = 2;
export const GNU_PROPERTY_AARCH64_FEATURE_1_BTI = 1;
export const GNU_PROPERTY_AARCH64_FEATURE_1_PAC = 2;

export const EM = {
  I386: 3,
  MIPS: 8,
  PPC: 20,
  PPC64: 21,
  S390: 22,
  ARM: 40,
  X86_64: 62,
  AARCH64: 183,
  RISCV: 243,
  LOONGARCH: 258,
} as const;

/** e_machine by name (`x86_64`, `aarch64`, …), else `machine-<n>`. */
export function machineName(machine: number, elfClass: 32 | 64 = 64): string {
  switch (machine) {
    case EM.I386:
      return 'i386';
    case EM.MIPS:
      return elfClass === 64 ? 'mips64' : 'mips';
    case EM.PPC:
      return 'ppc';
    case EM.PPC64:
      return 'ppc64';
    case EM.S390:
      return elfClass === 64 ? 's390x' : 's390';
    case EM.ARM:
      return 'arm';
    case EM.X86_64:
      return 'x86_64';
    case EM.AARCH64:
      return 'aarch64';
    case EM.RISCV:
      return 'riscv';
    case EM.LOONGARCH:
      return 'loongarch';
    case 2:
      return 'sparc';
    case 43:
      return 'sparcv9';
    default:
      return `machine-${machine}`;
  }
}

export function typeName(type: number): string {
  switch (type) {
    case ET.NONE:
      return 'NONE';
    case ET.REL:
      return 'REL';
    case ET.EXEC:
      return 'EXEC';
    case ET.DYN:
      return 'DYN';
    case ET.CORE:
      return 'CORE';
    default:
      return `type-${type}`;
  }
}

const PT_NAMES: Record<number, string> = {
  [PT.NULL]: 'NULL',
  [PT.LOAD]: 'LOAD',
  [PT.DYNAMIC]: 'DYNAMIC',
  [PT.INTERP]: 'INTERP',
  [PT.NOTE]: 'NOTE',
  [PT.SHLIB]: 'SHLIB',
  [PT.PHDR]: 'PHDR',
  [PT.TLS]: 'TLS',
  [PT.GNU_EH_FRAME]: 'GNU_EH_FRAME',
  [PT.GNU_STACK]: 'GNU_STACK',
  [PT.GNU_RELRO]: 'GNU_RELRO',
  [PT.GNU_PROPERTY]: 'GNU_PROPERTY',
  [PT.GNU_SFRAME]: 'GNU_SFRAME',
  1879048193: 'PROC_0x70000001', // ARM_EXIDX / MIPS_REGINFO etc.
  1879048195: 'PROC_0x70000003', // RISCV_ATTRIBUTES / AARCH64_MEMTAG
};

export function segmentTypeName(type: number): string {
  return PT_NAMES[type] ?? `0x${type.toString(16)}`;
}

export function flagsString(pflags: number): string {
  return `${pflags & PF.R ? 'R' : '-'}${pflags & PF.W ? 'W' : '-'}${pflags & PF.X ? 'X' : '-'}`;
}
