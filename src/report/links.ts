/**
 * Links between reports: always relative (a report beside or below this
 * one), each path segment percent-encoded, so a hostile name can neither
 * carry a scheme (`:` is encoded) nor leave the attribute or the Markdown
 * link; `.` and `..` segments stay as they are.
 */
export function relativeUrl(rel: string): string {
  return rel
    .split('/')
    .map((seg) =>
      seg === '..' || seg === '.'
        ? seg
        : encodeURIComponent(seg).replace(
            /[()'!*]/g,
            (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
          ),
    )
    .join('/');
}
