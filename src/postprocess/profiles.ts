// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are pkgforge's shell text, quoted as written
/**
 * pkgforge's post-processing profiles of record, as data. Each entry says
 * what one CI generation did to a build's outputs after the recipe ran, for
 * which repository and which build dates, and which commit of which file it
 * was read from. A record's profile is chosen by repository and build date
 * (src/postprocess/select.ts); `rebuild build --postprocess ID` names one.
 *
 * The 2025 bash CI fetched scripts/runner/functions.sh from `main` at run
 * time, so a build used whatever `main` held when its job started: the commit
 * dates below are the boundaries, and a build near one may have run either.
 * Dates are the commits' author dates converted to UTC.
 */
import type { BinutilsPassName, DirectoryPassName } from './passes.js';

export type ProfileId =
  | 'bincache-2025-01-10'
  | 'bincache-2025-01-20'
  | 'bincache-2025-03-05'
  | 'bincache-2025-03-20'
  | 'bincache-2025-04-10'
  | 'bincache-2025-06-25'
  | 'pkgcache-sbuild'
  | 'soarpkgs-sbuild'
  | 'builds-toml';

/** The repositories profiles are chosen for (metadata records carry the first two). */
export type ProfileRepository = 'bincache' | 'pkgcache' | 'soarpkgs' | 'builds';

/** What `file -i` had to say for the per-executable steps to run on a file. */
export type FileSelection = 'top-level-mime-executable' | 'none';

export interface PostProcessProfile {
  id: ProfileId;
  repository: ProfileRepository;
  /** The CI generation: the 2025 bash scripts, the Rust `sbuild`, or the 2026 TOML tree's build.py. */
  generation: 'bash-ci' | 'sbuild' | 'toml';
  /** ISO 8601 UTC, inclusive; undefined: since the repository began. */
  from?: string;
  /** ISO 8601 UTC, exclusive; undefined: until it ended. */
  until?: string;
  source: { repo: string; commit: string; path: string };
  /** Which files the per-executable steps touch. */
  files: FileSelection;
  /** `.archive` suffix dropped (the file is then not stripped: the CI's objcopy ran on the old name). */
  renameArchive: boolean;
  /** `.no_strip` suffix dropped, the file left unstripped. */
  renameNoStrip: boolean;
  /** binutils passes on every other selected file, in order. */
  executablePasses: readonly BinutilsPassName[];
  /** Steps over the top level of the output directory, after the executables, in order. */
  directoryPasses: readonly DirectoryPassName[];
  /** Dynamic SquashFS AppImages repacked by sbuild (appimagetool, zstd, -mkfs-time 0). */
  appimageRepack: boolean;
  /** The commands exactly as pkgforge's script wrote them (`{}` is each file). */
  commands: readonly string[];
  notes: readonly string[];
  /**
   * Before the recipe ran, the CI rewrote its `docker run` lines (`--platform`,
   * `:$(uname -m)"` → `:<arch>"`) when `x_exec.bsys` is docker:// (src/recipe/ci-rewrite.ts).
   */
  rewritesDockerRun?: boolean;
}

const BINCACHE_FUNCTIONS = 'scripts/runner/functions.sh';
const FIND_EXECUTABLES =
  'find "${SBUILD_OUTDIR}" -maxdepth 1 -type f -exec file -i "{}" \\; | grep "application/.*executable" | … | xargs -I "{}" bash -c \'…\'';
const OBJCOPY = 'objcopy --remove-section=".comment" --remove-section=".note.*" "{}"';
const STRIP_UNNEEDED = 'strip --strip-debug --strip-dwo --strip-unneeded "{}"';
const STRIP_ALL = 'strip --strip-all --verbose "{}" 2>/dev/null';
const DELETE_EMPTY = 'find "${SBUILD_OUTDIR}" -maxdepth 1 -type f -size 0 -delete 2>/dev/null';
const DESKTOP =
  'find "${SBUILD_OUTDIR}" -maxdepth 1 -type f -iname "*.desktop" -exec sed -E \'s/^[[:space:]]*[Ee]xec[[:space:]]*=[[:space:]]*[^[:space:]]+/Exec={{pkg_path}}/\' -i "{}" \\;';
const CHMOD = 'find "${SBUILD_OUTDIR}" -type f -exec sudo chmod +xwr "{}" \\;';
const NO_STRIP = 'mv -fv "{}" "${dir}/${base%.no_strip}"   # *.no_strip';
const ARCHIVE = 'mv -fv "{}" "${dir}/${base%.archive}"   # *.archive';
const ALWAYS_NOTES = [
  'every file also gets chmod +xwr and touch (modes and times, not bytes); a LICENSE is downloaded when none exists',
  'only the top level of $SBUILD_OUTDIR, and only files `file -i` calls application/x-executable or x-pie-executable: shared libraries (x-sharedlib) and non-ELF files are never stripped, whatever pkg_type says',
];

const bincache = (
  id: ProfileId,
  from: string,
  until: string | undefined,
  commit: string,
  p: Pick<
    PostProcessProfile,
    'renameArchive' | 'renameNoStrip' | 'executablePasses' | 'directoryPasses' | 'commands'
  > &
    Partial<Pick<PostProcessProfile, 'rewritesDockerRun'>> & {
      notes?: string[];
    },
): PostProcessProfile => ({
  id,
  repository: 'bincache',
  generation: 'bash-ci',
  from,
  ...(until ? { until } : {}),
  source: { repo: 'pkgforge/bincache', commit, path: BINCACHE_FUNCTIONS },
  files: 'top-level-mime-executable',
  appimageRepack: false,
  ...p,
  notes: [...(p.notes ?? []), ...ALWAYS_NOTES],
});

export const PROFILES: readonly PostProcessProfile[] = [
  bincache('bincache-2025-01-10', '2025-01-10T15:20:31Z', '2025-01-20T06:30:33Z', 'b36f644', {
    renameArchive: false,
    renameNoStrip: true,
    executablePasses: ['remove-comment-and-notes', 'strip-debug-dwo-unneeded'],
    directoryPasses: [],
    commands: [CHMOD, FIND_EXECUTABLES, NO_STRIP, OBJCOPY, STRIP_UNNEEDED],
  }),
  bincache('bincache-2025-01-20', '2025-01-20T06:30:33Z', '2025-03-05T06:37:08Z', '92040f2', {
    renameArchive: true,
    renameNoStrip: true,
    executablePasses: ['remove-comment-and-notes', 'strip-debug-dwo-unneeded'],
    directoryPasses: [],
    commands: [CHMOD, FIND_EXECUTABLES, ARCHIVE, NO_STRIP, OBJCOPY, STRIP_UNNEEDED],
  }),
  bincache('bincache-2025-03-05', '2025-03-05T06:37:08Z', '2025-03-20T04:07:35Z', 'b32a17f', {
    renameArchive: true,
    renameNoStrip: true,
    executablePasses: ['remove-comment-and-notes', 'strip-debug-dwo-unneeded'],
    directoryPasses: ['desktop-exec'],
    commands: [CHMOD, FIND_EXECUTABLES, ARCHIVE, NO_STRIP, OBJCOPY, STRIP_UNNEEDED, DESKTOP],
  }),
  bincache('bincache-2025-03-20', '2025-03-20T04:07:35Z', '2025-04-10T08:06:38Z', 'e07bd61', {
    renameArchive: true,
    renameNoStrip: true,
    executablePasses: ['remove-comment-and-notes', 'strip-debug-dwo-unneeded'],
    directoryPasses: ['delete-empty', 'desktop-exec'],
    commands: [CHMOD, FIND_EXECUTABLES, ARCHIVE, NO_STRIP, OBJCOPY, STRIP_UNNEEDED, DELETE_EMPTY, DESKTOP],
  }),
  bincache('bincache-2025-04-10', '2025-04-10T08:06:38Z', '2025-06-25T03:52:29Z', '4c864ac', {
    renameArchive: true,
    renameNoStrip: true,
    executablePasses: ['remove-comment-and-notes', 'strip-all'],
    directoryPasses: ['delete-empty', 'desktop-exec'],
    commands: [
      CHMOD,
      FIND_EXECUTABLES,
      ARCHIVE,
      NO_STRIP,
      `${OBJCOPY} 2>/dev/null`,
      STRIP_ALL,
      DELETE_EMPTY,
      DESKTOP,
    ],
  }),
  bincache('bincache-2025-06-25', '2025-06-25T03:52:29Z', undefined, '4791d37', {
    rewritesDockerRun: true,
    renameArchive: false,
    renameNoStrip: false,
    executablePasses: [],
    directoryPasses: ['delete-empty', 'desktop-exec'],
    commands: [CHMOD, DELETE_EMPTY, DESKTOP],
    notes: [
      'the rename/strip step is a bash syntax error from this commit on (`elif [[ "${CROSS_COMPILING} != "YES" ]]`, a misplaced quote): bash prints "unexpected EOF while looking for matching", xargs exits 123, and nothing is renamed, objcopied or stripped; in-recipe strips still apply',
    ],
  }),
  {
    id: 'pkgcache-sbuild',
    repository: 'pkgcache',
    generation: 'sbuild',
    source: { repo: 'pkgforge/pkgcache', commit: '00213266', path: BINCACHE_FUNCTIONS },
    files: 'top-level-mime-executable',
    renameArchive: false,
    renameNoStrip: true,
    executablePasses: [],
    directoryPasses: [],
    appimageRepack: true,
    commands: [
      'timeout -k 5m 60m sbuild --log-level "verbose" "${INPUT_SBUILD}" --timeout-linter "120" --outdir "${SBUILD_OUTDIR}/BUILD" --keep',
      CHMOD,
      FIND_EXECUTABLES,
      NO_STRIP,
    ],
    notes: [
      "objcopy and strip are commented out in pkgcache's loop: pkgcache never stripped",
      'sbuild repacks dynamic SquashFS AppImages (pkgforge/sbuilder 6cbc70a, 2025-01-11): unsquashfs, then appimagetool --comp zstd … -mkfs-time 0; rebuild cannot redo that repack yet',
    ],
  },
  {
    id: 'soarpkgs-sbuild',
    repository: 'soarpkgs',
    generation: 'sbuild',
    until: '2026-07-28T09:46:37Z',
    source: { repo: 'pkgforge/sbuilder', commit: 'be52fc29', path: 'sbuild/src/builder.rs' },
    files: 'none',
    renameArchive: false,
    renameNoStrip: false,
    executablePasses: [],
    directoryPasses: [],
    appimageRepack: true,
    commands: [
      'sbuild build --outdir … --ci --checksums --timeout 10800 --push --ghcr-repo … [--sign]',
      'unsquashfs -offset … ; appimagetool --comp zstd --mksquashfs-opt -root-owned -no-xattrs -noappend -b 1M -mkfs-time 0 -Xcompression-level 22 --no-appstream   # dynamic SquashFS AppImages only',
    ],
    notes: [
      'the Rust builder has no objcopy, strip, upx or patchelf: only in-recipe commands change an executable',
      'icons, desktop and appstream files are extracted and renamed; dynamic SquashFS AppImages are repacked (rebuild cannot redo that repack yet)',
    ],
  },
  {
    id: 'builds-toml',
    repository: 'builds',
    generation: 'toml',
    from: '2026-07-28T09:46:37Z',
    source: { repo: 'pkgforge/builds', commit: 'main', path: 'build.py' },
    files: 'none',
    renameArchive: false,
    renameNoStrip: false,
    executablePasses: [],
    directoryPasses: [],
    appimageRepack: false,
    commands: [],
    notes: [
      'build.py runs no post-processing: artifacts are copied (mode 0755/0644) into a reproducible .tar.gz (gzip -9, mtime 0, GNU tar, sorted, uid/gid 0)',
    ],
  },
];

export function profileById(id: string): PostProcessProfile | undefined {
  return PROFILES.find((p) => p.id === id);
}

/** Whether a profile changes any byte of an ELF executable it selects. */
export function stripsExecutables(p: PostProcessProfile): boolean {
  return p.files !== 'none' && p.executablePasses.length > 0;
}
