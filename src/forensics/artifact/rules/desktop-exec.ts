/**
 * bincache's `.desktop` fix (functions.sh):
 *   sed -E 's/^[[:space:]]*[Ee]xec[[:space:]]*=[[:space:]]*[^[:space:]]+/Exec={{pkg_path}}/'
 * sed works line by line; [[:space:]] is the POSIX class (space, \t, \n, \v, \f, \r).
 */
const EXEC_LINE = /^[ \t\v\f\r]*[Ee]xec[ \t\v\f\r]*=[ \t\v\f\r]*[^ \t\n\v\f\r]+/;

/** What pkgforge's sed makes of a .desktop file. Pure. */
export function applyDesktopExecRewrite(text: string): string {
  return text
    .split('\n')
    .map((line) => line.replace(EXEC_LINE, 'Exec={{pkg_path}}'))
    .join('\n');
}

export function isDesktopFile(path: string): boolean {
  return /\.desktop$/i.test(path);
}

/** The published text is exactly the rebuilt one after pkgforge's rewrite (and they differ). */
export function explainedByDesktopRewrite(published: string, rebuilt: string): boolean {
  return published !== rebuilt && applyDesktopExecRewrite(rebuilt) === published;
}
