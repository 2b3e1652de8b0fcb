/**
 * Applies one post-processing profile of record to the top level of a build's
 * output directory, in place, as that pkgforge CI generation did, keeping
 * each stripped file's original under `<outdir>/unstripped/<name>` for
 * forensics.
 *
 * Planning (which files, which passes) is pure: planPostProcessing(). Running
 * it is applyPostProcessing().
 */
import type { Dirent } from 'node:fs';
import { copyFile, lstat, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf, RebuildError } from '../util/errors.js';
import { type Binutils, binutilsFix, findBinutils, machineName } from './binutils.js';
import { type ElfIdent, elfTypeName, type FileMime, mimeIsExecutable, readElfFacts } from './elf-ident.js';
import { BINUTILS_PASSES, PassFailure, type PassRun, rewriteDesktopExec, runPass } from './passes.js';
import type { PostProcessProfile } from './profiles.js';

/** Where originals are kept, inside the output directory. */
export const UNSTRIPPED_DIR = 'unstripped';
export const NO_STRIP_SUFFIX = '.no_strip';
export const ARCHIVE_SUFFIX = '.archive';

/** What planning needs to know about one directory entry (gathered by I/O, judged purely). */
export interface EntryFacts {
  name: string;
  kind: 'file' | 'directory' | 'symlink' | 'other';
  size?: number;
  /** For regular ELF files: the header facts and what `file -i` would call it. */
  elf?: ElfIdent;
  mime?: FileMime;
}

export interface PlannedFile {
  name: string;
  /** `process`: apply the passes; `rename`: drop a suffix and leave the bytes alone; `delete`; `rewrite` (.desktop); `skip`. */
  action: 'process' | 'rename' | 'delete' | 'rewrite' | 'skip';
  renameTo?: string;
  reason?: string;
  elf?: ElfIdent;
}

export interface PostProcessPlan {
  profile: PostProcessProfile;
  files: PlannedFile[];
}

const byName = (x: { name: string }, y: { name: string }) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0);

function dropSuffix(name: string, suffix: string): string | undefined {
  return name.endsWith(suffix) && name.length > suffix.length ? name.slice(0, -suffix.length) : undefined;
}

/** Decide what the profile's CI would do to each top-level entry. Pure. */
export function planPostProcessing(
  entries: readonly EntryFacts[],
  profile: PostProcessProfile,
): PostProcessPlan {
  const files: PlannedFile[] = [];
  const deleted = new Set<string>();
  for (const e of [...entries].sort(byName)) {
    if (e.kind === 'directory' && e.name === UNSTRIPPED_DIR) continue; // our own originals
    if (e.kind !== 'file') {
      files.push({ name: e.name, action: 'skip', reason: `not a regular file (${e.kind})` });
      continue;
    }
    const planned: PlannedFile = { name: e.name, action: 'skip' };
    if (e.elf) planned.elf = e.elf;
    files.push(planned);
    const selected =
      profile.files === 'top-level-mime-executable' && e.mime !== undefined && mimeIsExecutable(e.mime);
    const archive = profile.renameArchive ? dropSuffix(e.name, ARCHIVE_SUFFIX) : undefined;
    const noStrip = profile.renameNoStrip ? dropSuffix(e.name, NO_STRIP_SUFFIX) : undefined;
    if (selected && archive) {
      planned.action = 'rename';
      planned.renameTo = archive;
      planned.reason = `named *${ARCHIVE_SUFFIX}: renamed to '${archive}' and, as in ${profile.source.repo}@${profile.source.commit}, not stripped (its objcopy ran on the old name)`;
    } else if (selected && noStrip) {
      planned.action = 'rename';
      planned.renameTo = noStrip;
      planned.reason = `named *${NO_STRIP_SUFFIX}: exempt from stripping, renamed to '${noStrip}'`;
    } else if (selected && profile.executablePasses.length > 0) {
      planned.action = 'process';
    } else if (profile.directoryPasses.includes('delete-empty') && e.size === 0) {
      planned.action = 'delete';
      planned.reason = 'empty file: deleted (find -size 0 -delete)';
      deleted.add(e.name);
    } else if (
      profile.directoryPasses.includes('desktop-exec') &&
      e.name.toLowerCase().endsWith('.desktop')
    ) {
      planned.action = 'rewrite';
      planned.reason = 'desktop entry: Exec= rewritten to Exec={{pkg_path}}';
    } else {
      planned.reason = skipReason(e, profile);
    }
  }
  return { profile, files };
}

function skipReason(e: EntryFacts, profile: PostProcessProfile): string {
  if (profile.files === 'none' || profile.executablePasses.length === 0)
    return `${profile.id} changes no executable`;
  if (!e.elf) return 'not an ELF file';
  return `ELF ${elfTypeName(e.elf.type)} (file -i: application/${e.mime ?? 'other'}): not matched by "application/.*executable"`;
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
      const path = join(outDir, d.name);
      facts.size = (await lstat(path)).size;
      const elf = await readElfFacts(path);
      if (elf) {
        facts.elf = elf.ident;
        facts.mime = elf.mime;
      }
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

/** What result.json records: the profile, where it comes from, its commands, and what it did here. */
export interface PostProcessRecord {
  schema: 'rebuild.postprocess/2';
  /** Profile id, or `none`. */
  profile: string;
  /** `<repo>@<commit>:<path>` the profile was read from ("" for none). */
  source: string;
  /** pkgforge's commands exactly as its script wrote them (empty when it ran none). */
  commands: string[];
  /** Why this profile (selection by repository and date, or --postprocess). */
  reason: string;
  /** Other profiles that could have run (near a boundary, or no date). */
  alternatives?: string[];
  notes: string[];
  files: FileRecord[];
  /** Files the profile deleted (empty files). */
  deleted: string[];
  durationMs: number;
}

export interface PostProcessOptions {
  /** undefined: no post-processing (`--postprocess none`). */
  profile: PostProcessProfile | undefined;
  reason: string;
  alternatives?: string[];
  onLog?: (line: string) => void;
  /** Per command (default 5 min). */
  timeoutMs?: number;
}

export function sourceOf(p: PostProcessProfile): string {
  return `${p.source.repo}@${p.source.commit}:${p.source.path}`;
}

/**
 * Applies `opts.profile` to the top level of `outDir` in place. Throws
 * RebuildError('environment') before touching anything when binutils for a
 * file's machine are missing.
 */
export async function applyPostProcessing(
  outDir: string,
  opts: PostProcessOptions,
): Promise<PostProcessRecord> {
  const started = performance.now();
  const log = opts.onLog ?? (() => {});
  const profile = opts.profile;
  const record: PostProcessRecord = {
    schema: 'rebuild.postprocess/2',
    profile: profile?.id ?? 'none',
    source: profile ? sourceOf(profile) : '',
    commands: profile ? [...profile.commands] : [],
    reason: opts.reason,
    notes: profile ? [...profile.notes] : [],
    files: [],
    deleted: [],
    durationMs: 0,
  };
  if (opts.alternatives?.length) record.alternatives = [...opts.alternatives];
  if (!profile) {
    log(`post-processing: none (${opts.reason})`);
    record.durationMs = Math.round(performance.now() - started);
    return record;
  }
  log(`post-processing: ${profile.id} from ${record.source} (${opts.reason})`);
  const plan = planPostProcessing(await gatherEntries(outDir), profile);
  const tools = await resolveTools(outDir, plan);
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
  const passes = profile.executablePasses.map((n) => BINUTILS_PASSES[n]);
  // pkgforge's order: the executables loop, then empty files, then .desktop files.
  const order: PlannedFile['action'][] = ['rename', 'process', 'skip', 'delete', 'rewrite'];
  for (const f of [...plan.files].sort((a, b) => order.indexOf(a.action) - order.indexOf(b.action))) {
    const path = join(outDir, f.name);
    const size = (await isRegular(path)) ? (await stat(path)).size : 0;
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
    if (f.reason) rec.skipped = f.reason;
    if (f.action === 'skip') continue;
    if (f.action === 'rename' && f.renameTo) {
      await rename(path, join(outDir, f.renameTo)); // mv -f: replaces a file of that name, as pkgforge's did
      rec.name = f.renameTo;
      rec.renamedFrom = f.name;
      log(`post-processing: ${f.name} → ${f.renameTo}`);
      continue;
    }
    if (f.action === 'delete') {
      await rm(path, { force: true });
      record.deleted.push(f.name);
      rec.sizeAfter = 0;
      log(`post-processing: deleted empty ${f.name}`);
      continue;
    }
    if (f.action === 'rewrite') {
      const text = await readFile(path, 'latin1'); // bytes as sed sees them
      const next = rewriteDesktopExec(text);
      if (next !== text) await writeFile(path, next, 'latin1');
      rec.sizeAfter = Buffer.byteLength(next, 'latin1');
      log(`post-processing: ${f.name}: Exec= → Exec={{pkg_path}}`);
      continue;
    }
    const keep = join(UNSTRIPPED_DIR, f.name);
    if (await exists(join(outDir, keep))) {
      rec.action = 'skip';
      rec.skipped = `${keep} already exists: this output was post-processed before`;
      log(`post-processing: ${f.name}: skipped (${rec.skipped})`);
      continue;
    }
    await mkdir(keepDir, { recursive: true });
    await copyFile(path, join(outDir, keep));
    rec.unstripped = keep;
    const bin = tools.get(f.elf?.machine ?? 0);
    if (!bin) continue; // cannot happen: every machine was resolved above
    for (const pass of passes) {
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

/** Every machine's binutils first, so a missing package fails before any file changes. */
async function resolveTools(outDir: string, plan: PostProcessPlan): Promise<Map<number, Binutils>> {
  const processed = plan.files.filter((f) => f.action === 'process' && f.elf);
  const tools = new Map<number, Binutils>();
  for (const m of new Set(processed.map((f) => f.elf?.machine ?? 0))) {
    const found = await findBinutils(m);
    if (!found) {
      const who = processed.filter((f) => f.elf?.machine === m).map((f) => f.name);
      throw new RebuildError(
        'environment',
        `no GNU binutils for ${machineName(m)} (e_machine ${m}) to post-process ${who.join(', ')} like ${plan.profile.id}`,
        { subject: join(outDir, who[0] ?? ''), fix: binutilsFix(m) },
      );
    }
    tools.set(m, found);
  }
  return tools;
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
