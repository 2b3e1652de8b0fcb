/**
 * A recipe dialect: one file format `rebuild recipe` reads (SBUILD, soarpkgs
 * `pkg.toml`, pkgforge/builds `build.toml`). Adding a format is adding a
 * file in this folder and a line in index.ts; the record type keeps every
 * dialect's JSON Lines output to the same contract.
 */

export type DialectName = 'sbuild' | 'pkg.toml' | 'build.toml';

/** The fields every JSON Lines record carries, whatever the dialect (more may follow). */
export interface RecipeRecordBase {
  file: string;
  pkg: string;
  pkg_id: string;
  pkg_type: string | null;
  /** `2025`/`2026` for SBUILD, `pkg.toml`, `build.toml`. */
  dialect: string;
  disabled: boolean;
  hosts: string[];
  arches: string[];
  pkgver: string | null;
  description: string;
}

export interface ReadRecipe {
  record: RecipeRecordBase & Record<string, unknown>;
  /** The human report (first line the file). */
  human: string;
}

export interface RecipeDialect {
  name: DialectName;
  /** Whether a file of this name, found while walking a directory, is this dialect's. */
  claims(fileName: string): boolean;
  /** Reads and validates one file; throws RebuildError('input') naming the file and field. */
  read(path: string): ReadRecipe;
}
