/**
 * Simulates pkgforge's post-processing of one rebuilt ELF executable under
 * each candidate profile, for the forensic "known post-processing" route: if
 * the published file equals the rebuilt file after exactly one profile's
 * commands, that profile explains the difference, and the report names it.
 *
 * Each profile's first pass writes straight from the input to its output
 * (`objcopy IN OUT`), later passes rewrite that output in place: no extra
 * copy, one file per profile on disk, nothing held in memory. Profiles with
 * the same passes share one output.
 *
 * Never throws for a tool failure (a weird or malformed file): that profile's
 * result is `{ skipped: reason }`, and the caller falls back to byte accounting.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { messageOf } from '../util/errors.js';
import { MODELED_BINUTILS, planCommentNotesStrip } from './bfd-layout.js';
import { type Binutils, binutilsFix, binutilsVersionNumber, findBinutils, machineName } from './binutils.js';
import { BINUTILS_PASSES, type BinutilsPassName, PassFailure, passCommand, runPass } from './passes.js';
import type { Piece } from './plan.js';
import { type PostProcessProfile, PROFILES, type ProfileId } from './profiles.js';

export interface SimulateOptions {
  machine: number;
  class: 32 | 64;
  endian: 'little' | 'big';
  /** Where to make the temporary outputs (default: the OS temp dir). */
  workDir?: string;
  /** Per command (default 5 min). */
  timeoutMs?: number;
  /**
   * Describe the output as a plan over the input instead of writing it, where
   * the layout is one rebuild models exactly (bfd-layout.ts; else the tools run):
   * for a caller that only reads the output once or twice (forensics).
   */
  stream?: boolean;
}

/** One profile's simulation: its output, or why it could not run. */
export type ProfileSimulation =
  | {
      profile: ProfileId;
      /** The post-processed file. When the profile changes nothing, the input itself. */
      outputPath: string;
      /** The exact commands run (empty when the profile runs none on executables). */
      steps: string[];
      /** e.g. `aarch64-linux-gnu-strip 2.40`; undefined when no tool ran. */
      tool?: string;
    }
  | {
      profile: ProfileId;
      /** The post-processed file as a plan over `inputPath` (read it with PlanSource): never written. */
      plan: { pieces: readonly Piece[]; size: number };
      inputPath: string;
      steps: string[];
      tool: string;
    }
  | { profile: ProfileId; skipped: string };

export interface SimulatedPostProcessings {
  results: ProfileSimulation[];
  /** Removes every output made. */
  cleanup(): Promise<void>;
}

/** Simulates every profile in `profiles` (default: all bincache profiles) on `inputPath`. */
export async function simulatePostProcessing(
  inputPath: string,
  profiles: readonly PostProcessProfile[],
  opts: SimulateOptions,
): Promise<SimulatedPostProcessings> {
  const each = simulateEach(inputPath, profiles, opts);
  const results: ProfileSimulation[] = [];
  try {
    for await (const r of each.results) results.push(r);
  } catch (err) {
    await each.cleanup();
    throw err;
  }
  return { results, cleanup: each.cleanup };
}

export interface SimulatedOneByOne {
  /** One result per profile, in order, each simulated only when asked for. */
  results: AsyncGenerator<ProfileSimulation, void, undefined>;
  /** Removes every output made. */
  cleanup(): Promise<void>;
}

/**
 * simulatePostProcessing one profile at a time: a caller that stops at the
 * first profile it needs runs no command for the profiles after it.
 */
export function simulateEach(
  inputPath: string,
  profiles: readonly PostProcessProfile[],
  opts: SimulateOptions,
): SimulatedOneByOne {
  const name = basename(inputPath);
  let dir: string | undefined;
  const cleanup = async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  };
  async function* results(): AsyncGenerator<ProfileSimulation, void, undefined> {
    const byPasses = new Map<string, ProfileSimulation>();
    let tools: Binutils | undefined | null = null;
    for (const [index, profile] of profiles.entries()) {
      const key = profile.files === 'none' ? '' : profile.executablePasses.join(',');
      const seen = byPasses.get(key);
      if (seen) {
        yield { ...seen, profile: profile.id };
        continue;
      }
      let r: ProfileSimulation;
      if (key === '') {
        r = { profile: profile.id, outputPath: inputPath, steps: [] };
      } else {
        if (tools === null) tools = await findBinutils(opts.machine);
        const modelled = opts.stream ? await modelProfile(profile, tools, inputPath, name) : undefined;
        if (modelled) {
          r = modelled;
        } else if (!tools) {
          r = {
            profile: profile.id,
            skipped: `no GNU binutils for ${machineName(opts.machine)} (ELF${opts.class} ${opts.endian}-endian, e_machine ${opts.machine}); fix: ${binutilsFix(opts.machine)}`,
          };
        } else {
          try {
            dir ??= await mkdtemp(join(opts.workDir ?? tmpdir(), 'rebuild-pp-'));
            r = await runProfile(profile, tools, inputPath, join(dir, `${index}-${name}`), name, opts);
          } catch (err) {
            r = { profile: profile.id, skipped: `cannot make a temporary directory: ${messageOf(err)}` };
          }
        }
      }
      byPasses.set(key, r);
      yield r;
    }
  }
  return { results: results(), cleanup };
}

/** The passes bfd-layout.ts models: objcopy's .comment/.note.* removal, then either strip of record. */
const MODELLED: readonly (readonly BinutilsPassName[])[] = [
  ['remove-comment-and-notes', 'strip-all'],
  ['remove-comment-and-notes', 'strip-debug-dwo-unneeded'],
];

/**
 * The profile's output as a plan, when its passes and the file's layout are
 * modelled and the binutils installed (if any) are a version the model was
 * compared with; otherwise undefined (the tools run).
 */
async function modelProfile(
  profile: PostProcessProfile,
  tools: Binutils | undefined,
  inputPath: string,
  name: string,
): Promise<ProfileSimulation | undefined> {
  const passes = profile.executablePasses;
  if (!MODELLED.some((m) => m.length === passes.length && m.every((p, i) => passes[i] === p)))
    return undefined;
  const version = tools ? binutilsVersionNumber(tools.version) : MODELED_BINUTILS[0];
  if (!(MODELED_BINUTILS as readonly string[]).includes(version)) return undefined;
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(inputPath, 'r');
    const h = handle;
    const size = (await h.stat()).size;
    const planned = await planCommentNotesStrip({
      name: inputPath,
      size,
      readInto: async (buf, offset, length) => (await h.read(buf, 0, length, offset)).bytesRead,
    });
    if ('unsupported' in planned) return undefined;
    const shown: Binutils = tools
      ? { ...tools, objcopy: basename(tools.objcopy), strip: basename(tools.strip) }
      : { objcopy: 'objcopy', strip: 'strip', objdump: 'objdump', version: '' };
    const steps = passes.map((p, i) =>
      passCommand(
        BINUTILS_PASSES[p],
        shown,
        i === 0 ? name : `${name}.out`,
        i === 0 ? `${name}.out` : undefined,
      ),
    );
    return {
      profile: profile.id,
      plan: planned,
      inputPath,
      steps,
      tool: `${shown.strip} ${version} (its layout, streamed by rebuild)`,
    };
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

async function runProfile(
  profile: PostProcessProfile,
  tools: Binutils,
  inputPath: string,
  outputPath: string,
  name: string,
  opts: SimulateOptions,
): Promise<ProfileSimulation> {
  const steps: string[] = [];
  const shown = { ...tools, objcopy: basename(tools.objcopy), strip: basename(tools.strip) };
  try {
    let first = true;
    for (const passName of profile.executablePasses) {
      const pass = BINUTILS_PASSES[passName];
      const run = first
        ? await runPass(pass, tools, inputPath, {
            ...opts,
            displayFile: name,
            output: outputPath,
            displayOutput: `${name}.out`,
          })
        : await runPass(pass, tools, outputPath, { ...opts, displayFile: `${name}.out` });
      steps.push(run.command.replace(tools[pass.tool], shown[pass.tool]));
      first = false;
    }
    return {
      profile: profile.id,
      outputPath,
      steps,
      tool: `${shown.strip} ${binutilsVersionNumber(tools.version)}`,
    };
  } catch (err) {
    await rm(outputPath, { force: true });
    const why = err instanceof PassFailure ? err.message : messageOf(err);
    return { profile: profile.id, skipped: `${profile.id} post-processing could not run: ${why}` };
  }
}

/** The stripping profile forensics tries first when the caller names none: bincache's `--strip-all` era. */
export const DEFAULT_SIMULATION_PROFILE: ProfileId = 'bincache-2025-04-10';

/**
 * The profiles the forensic route simulates: the record's (its chosen
 * profile, then the other plausible ones), or, with no record, every
 * profile of record, DEFAULT_SIMULATION_PROFILE first. Unknown ids are left out.
 */
export function forensicCandidates(ids?: readonly string[]): PostProcessProfile[] {
  if (ids && ids.length > 0)
    return ids.map((id) => PROFILES.find((p) => p.id === id)).filter((p) => p !== undefined);
  const first = PROFILES.find((p) => p.id === DEFAULT_SIMULATION_PROFILE);
  return [...(first ? [first] : []), ...PROFILES.filter((p) => p !== first)];
}
