import { basename } from 'node:path';
import { buildTomlDialect } from './build-toml.js';
import { isSoarVersionFile, pkgTomlDialect } from './pkg-toml.js';
import { sbuildDialect } from './sbuild.js';
import type { DialectName, RecipeDialect } from './types.js';

export type { DialectName, ReadRecipe, RecipeDialect, RecipeRecordBase } from './types.js';

/** Every recipe dialect, by name: the type checker keeps this complete. */
export const DIALECTS: { readonly [K in DialectName]: RecipeDialect & { name: K } } = {
  sbuild: sbuildDialect as RecipeDialect & { name: 'sbuild' },
  'pkg.toml': pkgTomlDialect as RecipeDialect & { name: 'pkg.toml' },
  'build.toml': buildTomlDialect as RecipeDialect & { name: 'build.toml' },
};

const ALL: readonly RecipeDialect[] = Object.values(DIALECTS);

/** The dialect that reads a file found while walking a directory, by its name. */
export function dialectForName(fileName: string): RecipeDialect | undefined {
  return ALL.find((d) => d.claims(fileName));
}

/**
 * The dialect for a path given explicitly: by name, else a soarpkgs version
 * file (`<name>-<version>.toml` beside a pkg.toml), else SBUILD (which
 * explains what a recipe must look like).
 */
export function dialectForPath(path: string): RecipeDialect {
  const byName = dialectForName(basename(path));
  if (byName) return byName;
  if (isSoarVersionFile(path)) return DIALECTS['pkg.toml'];
  return DIALECTS.sbuild;
}
