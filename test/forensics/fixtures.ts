/**
 * Builds small real x86_64 ELF pairs with the host gcc/objcopy/strip into a
 * temporary directory, for the compare tests. Ground truth is known by
 * construction.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { readElf } from '../../src/forensics/elf/reader.js';
import { FileSource } from '../../src/forensics/elf/source.js';

export const SOURCE = `#include <stdio.h>
#include <string.h>
const char greeting[] = "hello from rodata";
int counter = 1234567;
int main(int argc, char **argv) {
  char buf[128];
  strncpy(buf, argc > 1 ? argv[1] : greeting, sizeof buf - 1);
  buf[sizeof buf - 1] = 0;
  printf("%s %d\\n", buf, counter + argc);
  return 0;
}
`;

export const STAMPED = `#include <stdio.h>
int main(void) { printf("built %s %s from %s\\n", __DATE__, __TIME__, "x"); return 0; }
`;

export const PATHED = `#include <stdio.h>
int main(void) { printf("source %s\\n", __FILE__); return 0; }
`;

export async function gcc(
  dir: string,
  out: string,
  src: string,
  args: string[] = [],
  env: Record<string, string> = {},
  absolute = false,
) {
  await mkdir(dir, { recursive: true });
  const c = join(dir, 'prog.c');
  await writeFile(c, src);
  await execa('gcc', ['-O2', '-g', ...args, '-o', out, absolute ? c : 'prog.c'], {
    cwd: dir,
    env: { ...process.env, ...env },
    extendEnv: true,
  });
  return out;
}

export async function pkgforgeStrip(input: string, out: string) {
  await copyFile(input, out);
  await execa('objcopy', ['--remove-section=.comment', '--remove-section=.note.*', out]);
  await execa('strip', ['--strip-all', out]);
  return out;
}

/** File offset of a section. */
export async function sectionOffset(path: string, name: string): Promise<{ offset: number; size: number }> {
  const src = await FileSource.open(path);
  try {
    const elf = await readElf(src);
    const s = elf.sections.find((x) => x.name === name);
    if (!s) throw new Error(`no ${name} in ${path}`);
    return { offset: s.offset, size: s.size };
  } finally {
    await src.close();
  }
}

export async function patch(input: string, out: string, fn: (b: Buffer) => void) {
  const b = await readFile(input);
  fn(b);
  await writeFile(out, b);
  return out;
}

/** Whether a tool answers `--version` (a toolchain the tests may skip without). */
export const has = async (tool: string) =>
  execa(tool, ['--version']).then(
    () => true,
    () => false,
  );
