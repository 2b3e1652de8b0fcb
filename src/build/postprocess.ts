/**
 * pkgforge's CI post-processing of a build's outputs (issue 2, section 5).
 *
 * The 2025 CI wrapper, after the recipe ran, and only when `pkg_type`
 * contains `static`: for every top-level file that `file -i` called an
 * executable, rename `*.no_strip` to drop the suffix (which exempts it), then
 * `objcopy --remove-section=.comment --remove-section='.note.*'` and
 * `strip --strip-all`, in place. rebuild does the same with binutils that
 * understand the file's machine, and keeps each original under
 * `<outdir>/unstripped/<name>` for forensics.
 *
 * Planning (which files, which passes) is pure: planPostProcessing(). Running
 * it is applyPkgforgePostProcessing().
 */
import type { Dirent } from 'node:fs';
import { copyFile, lstat, mkdir, readdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { binutilsFix, findBinutils, machineName } from '../forensics/binutils.js';
import { messageOf, RebuildError } from '../util/errors.js';
import { type ElfIdent, elfTypeName, isExecutableOrShared, readElfIdent } from './postprocess-elf.js';
import { PassFailure, type PassName, type PassRun, PKGFORGE_PASSES, runPass } from './postprocess-passes.js';

/** Where originals are kept, inside the output directory. */
export const UNSTRIPPED_DIR = 'unstripped';
export const NO_STRIP_SUFFIX = '.no_strip';

/** What planning needs to know about one directory entry (gathered by I/O, judged purely). */
export interface EntryFacts {
  name: string;
  kind: 'file' | 'directory' | 'symlink' | 'other';
  /** For regular files: the ELF header facts, when the file is ELF. */
  elf?: ElfIdent;
}

export interface PlannedFile {
  name: string;
  /** `process`: apply the passes; `rename`: drop `.no_strip` and leave the bytes alone; `skip`: leave it. */
  action: 'process' | 'rename' | 'skip';
  passes: PassName[];
  renameTo?: string;
  reason?: string;
  elf?: ElfIdent;
}

export interface PostProcessPlan {
  /** False when pkg_type does not contain `static`: nothing is done. */
  applies: boolean;
  reason?: string;
  files: PlannedFile[];
}

/** Decide what pkgforge's CI would do to each top-level entry. Pure. */
export function planPostProcessing(entries: readonly EntryFacts[], pkgType: string): PostProcessPlan {
  if (!pkgType.includes('static')) {
    return {
      applies: false,
      reason: `pkg_type '${pkgType}' does not contain 'static': pkgforge's CI did not strip its outputs`,
      files: [],
    };
  }
  const names = new Set(entries.map((e) => e.name));
  const files: PlannedFile[] = [];
  for (const e of [...entries].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))) {
    if (e.kind !== 'file') {
      if (e.name === UNSTRIPPED_DIR && e.kind === 'directory') continue; // our own originals
      files.push({ name: e.name, action: 'skip', passes: [], reason: `not a regular file (${e.kind})` });
      continue;
    }
    const planned: PlannedFile = { name: e.name, action: 'skip', passes: [] };
    if (e.elf) planned.elf = e.elf;
    if (e.name.endsWith(NO_STRIP_SUFFIX) && e.name.length > NO_STRIP_SUFFIX.length) {
      const target = e.name.slice(0, -NO_STRIP_SUFFIX.length);
      if (names.has(target)) {
        planned.reason = `named *${NO_STRIP_SUFFIX} (exempt from stripping), but '${target}' already exists: left as is`;
      } else {
        planned.action = 'rename';
        planned.renameTo = target;
        planned.reason = `named *${NO_STRIP_SUFFIX}: exempt from stripping, renamed to '${target}' as pkgforge's CI did`;
      }
      files.push(planned);
      continue;
    }
    if (!e.elf) {
      planned.reason = 'not an ELF file';
    } else if (!isExecutableOrShared(e.elf)) {
      planned.reason = `ELF ${elfTypeName(e.elf.type)}: pkgforge's CI only strips executables and shared objects`;
    } else {
      planned.action = 'process';
      planned.passes = PKGFORGE_PASSES.map((p) => p.name);
    }
    files.push(planned);
  }
  return { applies: true, files };
}

/** Reads the top level of `outDir` (no recursion, links not followed). */
export async function gatherEntries(outDir: string): Promise<EntryFacts[]> {
  let dirents: Dirent[];
  try {
    dirents = await readdir(outDir, { withFileTypes: true });
  } catch (err) {
    throw new RebuildError('input', `cannot read the output directory: ${messageOf(err)}`, {
      subject: outDir,
      fix: 'post-process an existing directory of build outputs',
      cause: err,
    });
  }
  const out: EntryFacts[] = [];
  for (const d of dirents) {
    const kind = d.isFile()
      ? 'file'
      : d.isDirectory()
        ? 'directory'
        : d.isSymbolicLink()
          ? 'symlink'
          : 'other';
    const facts: EntryFacts = { name: d.name, kind };
    if (kind === 'file') {
      const elf = await readElfIdent(join(outDir, d.name));
      if (elf) facts.elf = elf;
    }
    out.push(facts);
  }
  return out;
}

export interface FileRecord {
  /** The file's name after post-processing. */
  name: string;
  renamedFrom?: string;
  action: PlannedFile['action'];
  elf?: { machine: string; class: 32 | 64; endian: 'little' | 'big'; type: string };
  /** The passes applied, with exact commands and tool versions. */
  passes: PassRun[];
  skipped?: string;
  /** The original, relative to the output directory (`unstripped/<name>`). */
  unstripped?: string;
  sizeBefore: number;
  sizeAfter: number;
  /** A pass failed: the file was left as that tool left it (objcopy/strip do not write on failure). */
  error?: string;
}

export interface PostProcessRecord {
  schema: 'rebuild.postprocess/1';
  pkgType: string;
  applied: boolean;
  reason?: string;
  /** The passes, in order, as pkgforge's CI ran them. */
  passes: { name: PassName; tool: string; args: string[]; description: string }[];
  files: FileRecord[];
  durationMs: number;
}

export interface PostProcessOptions {
  pkgType: string;
  onLog?: (line: string) => void;
  /** Per command (default 5 min). */
  timeoutMs?: number;
}

/**
 * Applies pkgforge's CI post-processing to the top level of `outDir` in place.
 * Throws RebuildError('environment') before touching anything when binutils
 * for a file's machine are missing.
 */
export async function applyPkgforgePostProcessing(
  outDir: string,
  opts: PostProcessOptions,
): Promise<PostProcessRecord> {
  const started = performance.now();
  const log = opts.onLog ?? (() => {});
  const plan = planPostProcessing(await gatherEntries(outDir), opts.pkgType);
  const record: PostProcessRecord = {
    schema: 'rebuild.postprocess/1',
    pkgType: opts.pkgType,
    applied: plan.applies,
    passes: PKGFORGE_PASSES.map((p) => ({
      name: p.name,
      tool: p.tool,
      args: [...p.shellArgs],
      description: p.description,
    })),
    files: [],
    durationMs: 0,
  };
  if (!plan.applies) {
    if (plan.reason) record.reason = plan.reason;
    log(`post-processing: skipped (${plan.reason})`);
    record.durationMs = Math.round(performance.now() - started);
    return record;
  }

  // Every machine's binutils first, so a missing package fails before any file changes.
  const machines = new Set(
    plan.files.filter((f) => f.action === 'process' && f.elf).map((f) => f.elf?.machine ?? 0),
  );
  const tools = new Map<number, NonNullable<Awaited<ReturnType<typeof findBinutils>>>>();
  for (const m of machines) {
    const found = await findBinutils(m);
    if (!found) {
      const who = plan.files.filter((f) => f.action === 'process' && f.elf?.machine === m).map((f) => f.name);
      throw new RebuildError(
        'environment',
        `no GNU binutils for ${machineName(m)} (e_machine ${m}) to post-process ${who.join(', ')} like pkgforge's CI`,
        { subject: join(outDir, who[0] ?? ''), fix: binutilsFix(m) },
      );
    }
    tools.set(m, found);
  }

  const keepDir = join(outDir, UNSTRIPPED_DIR);
  if (
    plan.files.some((f) => f.action === 'process') &&
    (await exists(keepDir)) &&
    !(await isDirectory(keepDir))
  ) {
    throw new RebuildError('build', `'${UNSTRIPPED_DIR}' in the output directory is not a directory`, {
      subject: keepDir,
      fix: `rename the output named '${UNSTRIPPED_DIR}': rebuild keeps the unstripped originals there`,
    });
  }

  for (const f of plan.files) {
    const path = join(outDir, f.name);
    const size = f.action === 'skip' && !(await isRegular(path)) ? 0 : (await stat(path)).size;
    const rec: FileRecord = { name: f.name, action: f.action, passes: [], sizeBefore: size, sizeAfter: size };
    if (f.elf) {
      rec.elf = {
        machine: machineName(f.elf.machine),
        class: f.elf.class,
        endian: f.elf.endian,
        type: elfTypeName(f.elf.type),
      };
    }
    record.files.push(rec);
    if (f.action === 'skip') {
      if (f.reason) rec.skipped = f.reason;
      log(`post-processing: ${f.name}: skipped (${f.reason})`);
      continue;
    }
    if (f.action === 'rename' && f.renameTo) {
      await rename(path, join(outDir, f.renameTo));
      rec.name = f.renameTo;
      rec.renamedFrom = f.name;
      if (f.reason) rec.skipped = f.reason;
      log(`post-processing: ${f.name} → ${f.renameTo} (exempt from stripping)`);
      continue;
    }
    const keep = join(UNSTRIPPED_DIR, f.name);
    if (await exists(join(outDir, keep))) {
      rec.action = 'skip';
      rec.skipped = `${keep} already exists: this output was post-processed before`;
      log(`post-processing: ${f.name}: skipped (${rec.skipped})`);
      continue;
    }
    await mkdir(join(outDir, UNSTRIPPED_DIR), { recursive: true });
    await copyFile(path, join(outDir, keep));
    rec.unstripped = keep;
    const bin = tools.get(f.elf?.machine ?? 0);
    if (!bin) continue; // cannot happen: every machine was resolved above
    for (const pass of PKGFORGE_PASSES.filter((p) => f.passes.includes(p.name))) {
      try {
        const run = await runPass(pass, bin, path, { timeoutMs: opts.timeoutMs, displayFile: f.name });
        rec.passes.push(run);
        log(`post-processing: ${run.command}`);
        for (const w of run.warnings ?? []) log(`post-processing: ${f.name}: ${w}`);
      } catch (err) {
        if (!(err instanceof PassFailure)) throw err;
        rec.error = err.message;
        log(`post-processing: ${f.name}: FAILED ${err.message}`);
        break;
      }
    }
    rec.sizeAfter = (await stat(path)).size;
  }
  record.durationMs = Math.round(performance.now() - started);
  return record;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function isRegular(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile();
  } catch {
    return false;
  }
}
