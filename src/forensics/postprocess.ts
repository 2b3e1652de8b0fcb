/**
 * Simulates pkgforge's CI post-processing on a copy of a file, for the
 * "known post-processing" route of the comparison: if the published file
 * equals the rebuilt file after exactly these commands, the difference is
 * explained. The passes are the ones builds run (src/build/postprocess-passes.ts).
 *
 * Never throws for a tool failure (a weird or malformed file): the result is
 * `{ skipped: reason }`, and the caller falls back to byte accounting.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PassFailure, PKGFORGE_PASSES, passCommand, runPass } from '../build/postprocess-passes.js';
import { messageOf } from '../util/errors.js';
import { binutilsFix, binutilsVersionNumber, findBinutils, machineName } from './binutils.js';

export interface SimulatedPostProcessing {
  /** The post-processed copy; remove it with cleanup(). */
  outputPath: string;
  /** e.g. `aarch64-linux-gnu-strip 2.40`. */
  tool: string;
  /** The exact commands run, in pkgforge CI order. */
  steps: string[];
  cleanup(): Promise<void>;
}

export interface SimulateOptions {
  machine: number;
  class: 32 | 64;
  endian: 'little' | 'big';
  /** Where to make the temporary copy (default: the OS temp dir). */
  workDir?: string;
  /** Per command (default 5 min). */
  timeoutMs?: number;
}

export async function simulatePkgforgePostProcessing(
  inputPath: string,
  opts: SimulateOptions,
): Promise<SimulatedPostProcessing | { skipped: string }> {
  const tools = await findBinutils(opts.machine);
  if (!tools) {
    return {
      skipped: `no GNU binutils for ${machineName(opts.machine)} (ELF${opts.class} ${opts.endian}-endian, e_machine ${opts.machine}); fix: ${binutilsFix(opts.machine)}`,
    };
  }
  let dir: string;
  try {
    dir = await mkdtemp(join(opts.workDir ?? tmpdir(), 'rebuild-pp-'));
  } catch (err) {
    return { skipped: `cannot make a temporary directory: ${messageOf(err)}` };
  }
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const name = basename(inputPath);
  const outputPath = join(dir, name);
  try {
    await copyFile(inputPath, outputPath);
    const steps: string[] = [];
    for (const pass of PKGFORGE_PASSES) {
      steps.push(passCommand(pass, toolNames(tools), name));
      await runPass(pass, tools, outputPath, { timeoutMs: opts.timeoutMs, displayFile: name });
    }
    return {
      outputPath,
      tool: `${basename(tools.strip)} ${binutilsVersionNumber(tools.version)}`,
      steps,
      cleanup,
    };
  } catch (err) {
    await cleanup();
    const why = err instanceof PassFailure ? err.message : messageOf(err);
    return { skipped: `pkgforge post-processing could not run: ${why}` };
  }
}

/** The tools by command name rather than full path, for readable steps. */
function toolNames(t: { objcopy: string; strip: string; objdump: string; version: string }) {
  return { ...t, objcopy: basename(t.objcopy), strip: basename(t.strip), objdump: basename(t.objdump) };
}
