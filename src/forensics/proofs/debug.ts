/** Which proof a debug section's name calls for (DWARF, stabs, debuglink, altlink), or why none. */
import { proveDebugaltlink, proveDebuglink } from './debuglink.js';
import { DWARF } from './dwarf.js';
import { proveAddr } from './dwarf-addr.js';
import { proveAranges } from './dwarf-aranges.js';
import { proveNames } from './dwarf-names.js';
import { proveStab, proveStabstr } from './stabs.js';
import type { Proof } from './types.js';

/** DWARF proofs by section name (without `.debug_` / `.zdebug_`); the index sections live in their own files. */
const PROOFS: Record<string, Proof> = { ...DWARF, aranges: proveAranges, addr: proveAddr, names: proveNames };

const notExplained =
  (why: string): Proof =>
  () =>
    why;

export const proveDebug: Proof = (s) => {
  const name = s.section.name;
  let proof: Proof | undefined;
  if (name === '.gnu_debuglink') proof = proveDebuglink;
  else if (name === '.gnu_debugaltlink') proof = proveDebugaltlink;
  else if (name === '.stab') proof = proveStab;
  else if (name === '.stabstr') proof = proveStabstr;
  else {
    const m = /^\.z?debug_(.+)$/.exec(name);
    proof = m?.[1] !== undefined && Object.hasOwn(PROOFS, m[1]) ? PROOFS[m[1]] : undefined;
  }
  return (proof ?? notExplained(`rebuild cannot prove what ${name} holds (not a DWARF section it parses)`))(
    s,
  );
};
