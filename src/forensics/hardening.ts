/**
 * Hardening facts from an ELF file's headers, dynamic section, GNU property
 * notes and symbols (checksec's definitions).
 */
import {
  DF_1_NOW,
  DF_1_PIE,
  DF_BIND_NOW,
  DT,
  EM,
  ET,
  GNU_PROPERTY_AARCH64_FEATURE_1_AND,
  GNU_PROPERTY_AARCH64_FEATURE_1_BTI,
  GNU_PROPERTY_AARCH64_FEATURE_1_PAC,
  GNU_PROPERTY_X86_FEATURE_1_AND,
  GNU_PROPERTY_X86_FEATURE_1_IBT,
  GNU_PROPERTY_X86_FEATURE_1_SHSTK,
  NT_GNU_PROPERTY_TYPE_0,
  PF,
  PT,
  SHT,
} from './elf/constants.js';
import { type ElfFile, hasSymbol } from './elf/reader.js';
import type { Hardening } from './types.js';

/** GNU property (type, value) pairs of the file's NT_GNU_PROPERTY_TYPE_0 notes. */
export function gnuProperties(elf: ElfFile): Map<number, number> {
  const out = new Map<number, number>();
  const little = elf.header.endian === 'little';
  const align = elf.header.class === 64 ? 8 : 4;
  for (const n of elf.notes) {
    if (n.name !== 'GNU' || n.type !== NT_GNU_PROPERTY_TYPE_0) continue;
    const d = n.desc;
    let p = 0;
    for (let guard = 0; p + 8 <= d.length && guard < 4096; guard++) {
      const type = little ? d.readUInt32LE(p) : d.readUInt32BE(p);
      const size = little ? d.readUInt32LE(p + 4) : d.readUInt32BE(p + 4);
      if (p + 8 + size > d.length) break;
      if (size >= 4) {
        const v = little ? d.readUInt32LE(p + 8) : d.readUInt32BE(p + 8);
        out.set(type, (out.get(type) ?? 0) | v);
      }
      p += 8 + ((size + align - 1) & ~(align - 1));
    }
  }
  return out;
}

function dyn(elf: ElfFile, tag: number): bigint | undefined {
  return elf.dynamic.find((d) => d.tag === BigInt(tag))?.value;
}

export async function hardeningOf(elf: ElfFile): Promise<Hardening> {
  const seg = (t: number) => elf.segments.find((p) => p.type === t);
  const flags = Number(dyn(elf, DT.FLAGS) ?? 0n);
  const flags1 = Number(dyn(elf, DT.FLAGS_1) ?? 0n);
  const interp = seg(PT.INTERP);
  const bindNow =
    dyn(elf, DT.BIND_NOW) !== undefined || (flags & DF_BIND_NOW) !== 0 || (flags1 & DF_1_NOW) !== 0;
  const relroSeg = seg(PT.GNU_RELRO);
  const stack = seg(PT.GNU_STACK);
  const props = gnuProperties(elf);
  const x86 = elf.header.machine === EM.X86_64 || elf.header.machine === EM.I386;
  const arm = elf.header.machine === EM.AARCH64;
  const x86f = x86 ? (props.get(GNU_PROPERTY_X86_FEATURE_1_AND) ?? 0) : 0;
  const armf = arm ? (props.get(GNU_PROPERTY_AARCH64_FEATURE_1_AND) ?? 0) : 0;
  const chk = ['__stack_chk_fail', '__stack_chk_guard', '__stack_chk_fail_local', '__intel_security_cookie'];
  let stackProtector: boolean | null = null;
  const dynHit = await hasSymbol(elf, SHT.DYNSYM, chk);
  if (dynHit) stackProtector = true;
  else {
    const symHit = await hasSymbol(elf, SHT.SYMTAB, chk);
    // Without a symbol table a missing dynamic import proves nothing (static or
    // hidden __stack_chk_fail_local): not determinable, never "lost".
    if (symHit !== undefined) stackProtector = symHit;
  }
  return {
    pie: elf.header.type === ET.DYN && ((flags1 & DF_1_PIE) !== 0 || interp !== undefined),
    relro: relroSeg ? (bindNow ? 'full' : 'partial') : 'none',
    bindNow,
    nxStack: stack ? (stack.flags & PF.X) === 0 : null,
    cetIbt: (x86f & GNU_PROPERTY_X86_FEATURE_1_IBT) !== 0,
    cetShstk: (x86f & GNU_PROPERTY_X86_FEATURE_1_SHSTK) !== 0,
    bti: (armf & GNU_PROPERTY_AARCH64_FEATURE_1_BTI) !== 0,
    pac: (armf & GNU_PROPERTY_AARCH64_FEATURE_1_PAC) !== 0,
    stackProtector,
    static: interp === undefined && seg(PT.DYNAMIC) === undefined,
  };
}

const ORDER: Array<keyof Hardening> = [
  'pie',
  'relro',
  'bindNow',
  'nxStack',
  'cetIbt',
  'cetShstk',
  'bti',
  'pac',
  'stackProtector',
  'static',
];

const RELRO_RANK = { none: 0, partial: 1, full: 2 } as const;

/** True when b → a is a loss of hardening for this field (a = published). */
function isLoss(field: keyof Hardening, a: Hardening, b: Hardening): boolean {
  if (field === 'relro') return RELRO_RANK[a.relro] < RELRO_RANK[b.relro];
  if (field === 'static') return false;
  // A stack protector that cannot be seen (symbols stripped) is not determinable, not lost.
  if (field === 'stackProtector') return b[field] === true && a[field] === false;
  return b[field] === true && a[field] !== true;
}

/** Names of the fields that differ, losses (present in b, missing in a) first. */
export function hardeningDiffers(a: Hardening, b: Hardening): string[] {
  const diff = ORDER.filter((f) => a[f] !== b[f]);
  return [...diff.filter((f) => isLoss(f, a, b)), ...diff.filter((f) => !isLoss(f, a, b))];
}

export function describeHardening(field: string, a: Hardening, b: Hardening): string {
  const f = field as keyof Hardening;
  const show = (v: unknown) => (v === null ? 'not determinable' : String(v));
  const label: Record<string, string> = {
    pie: 'PIE',
    relro: 'RELRO',
    bindNow: 'BIND_NOW',
    nxStack: 'NX stack',
    cetIbt: 'CET IBT',
    cetShstk: 'CET SHSTK',
    bti: 'AArch64 BTI',
    pac: 'AArch64 PAC',
    stackProtector: 'stack protector',
    static: 'static linking',
  };
  const loss = isLoss(f, a, b) ? ' (hardening lost)' : '';
  return `${label[field] ?? field}: a ${show(a[f])}, b ${show(b[f])}${loss}`;
}
