import type { Arch } from '../engine/types.js';

/** Shells pkgforge's builder accepts for `x_exec.shell`. */
export const SHELLS = ['sh', 'bash', 'fish', 'nu', 'oils', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

/** `pkg_type` values pkgforge's linter accepts. */
export const PKG_TYPES = [
  'appbundle',
  'appimage',
  'archive',
  'dynamic',
  'flatimage',
  'gameimage',
  'nixappimage',
  'runimage',
  'static',
] as const;

/** Architectures and operating systems the linter accepts in `x_exec.host`/`arch`/`os`. */
export const HOST_ARCHES = ['aarch64', 'loongarch64', 'riscv64', 'x86_64'] as const;
export const HOST_OSES = ['freebsd', 'illumos', 'linux', 'netbsd', 'openbsd', 'redox'] as const;

/**
 * How the recipe's build is started:
 * - `container`: 2026, `x_exec.container` names the builder image, the script runs inside it;
 * - `docker-run`: 2025, `run` starts builder containers itself (`docker run … <image> bash -c '…'`);
 * - `host`: the script runs directly on the (CI) host.
 */
export type RecipeMode = 'docker-run' | 'container' | 'host';

export type Dialect = '2025' | '2026';

/**
 * One `provides` entry (SBUILD spec "Provides & Aliases"):
 * - `plain`   `name`          a program/package named `name`
 * - `extra`   `@name`         binary only, not a separate package (2026)
 * - `alias`   `name:alias`    package `name` with search alias `alias`
 * - `symlink` `name==link`    `link` is a symlink to `name` created on install (both on $PATH)
 * - `rename`  `name=>link`    only the symlink `link` is put on $PATH
 * In every form the file the recipe must produce is `name`.
 */
export interface Provide {
  /** The file the build produces. */
  name: string;
  kind: 'plain' | 'extra' | 'alias' | 'symlink' | 'rename';
  /** The alias or link name, for alias/symlink/rename. */
  target?: string;
  /** The entry as written. */
  raw: string;
}

export type License = { id: string; url?: string; file?: string };

export interface BuildAsset {
  url: string;
  out: string;
}

/** A `docker run` found in the `run` script. */
export interface DockerRun {
  /** The image reference as written (quotes removed, `$(…)`/`${…}` kept). */
  image: string;
  /** `--name` value, when given. */
  name?: string;
  /** `--platform` value, when given. */
  platform?: string;
  /** The words after the image (the command run in the builder). */
  command: string[];
  /** 1-based line in the `run` script where the command starts. */
  line: number;
}

export interface SubPackage {
  name: string;
  provides: Provide[];
}

export interface Recipe {
  /** Path as given by the caller. */
  file: string;
  dialect: Dialect;
  /** `ver @v1.0.0` from the first line, when present. */
  headerVersion?: string;
  /** `#SELF: <url>` from the second line, when present. */
  self?: string;
  disabled: boolean;
  pkg: string;
  /** `pkg_id`, or derived from the first `src_url` like the linter does. */
  pkgId: string;
  /** True when pkg_id was derived from src_url. */
  pkgIdDerived: boolean;
  pkgType?: string;
  /** Static `pkgver` (or `version`), stringified; absent when empty. */
  pkgver?: string;
  /** The primary description (`_default` for a per-program map). */
  description: string;
  /** Per-program descriptions (empty for a plain string). */
  descriptions: Record<string, string>;
  srcUrl: string[];
  homepage: string[];
  license: License[];
  provides: Provide[];
  /** 2026 multi-package recipes. */
  packages: SubPackage[];
  /** Files the build is expected to put in $SBUILD_OUTDIR (pkg first, then provides), deduplicated. */
  programs: string[];
  buildAssets: BuildAsset[];
  shell: Shell;
  /** `x_exec.run` ('' only for a 2026 recipe without one). */
  run: string;
  /** `x_exec.pkgver`, the version script. */
  pkgverScript?: string;
  entrypoint?: string;
  /** Normalized `<arch>-<Os>`, e.g. `x86_64-Linux`; empty when the recipe does not restrict hosts. */
  hosts: string[];
  /** Linux arches rebuild can target, from hosts (both when unrestricted). */
  arches: Arch[];
  /** 2026 builder image (`x_exec.container`), as written. */
  container?: string;
  /** 2025 `x_exec.bsys` (e.g. `docker://go`, `host://soar-dl`). */
  bsys?: string;
  mode: RecipeMode;
  /** Builder images the recipe names, as written, deduplicated, in order. */
  images: string[];
  /** Every `docker run` found in `run`. */
  dockerRuns: DockerRun[];
  /** Keys the parser does not interpret (kept, never rejected). */
  unknownKeys: string[];
  /** The YAML document as plain JS. */
  raw: Record<string, unknown>;
}
