/**
 * `--exclude` globs as matchers. picomatch is loaded on the first use: a
 * report without `--exclude` (nearly all) never pays for loading it.
 */
import { createRequire } from 'node:module';
import type picomatchFn from 'picomatch';

const require = createRequire(import.meta.url);
let loaded: typeof picomatchFn | undefined;

export function globMatcher(
  globs: readonly string[],
  options: { basename?: boolean } = {},
): (path: string) => boolean {
  loaded ??= require('picomatch') as typeof picomatchFn;
  return loaded([...globs], { dot: true, ...options });
}
