import { clean, UNCLEAN_CHARS } from './format.js';

// Most strings (a report's many cells) need neither: one test instead of two replacements.
const NEEDS_ESCAPING = new RegExp(`[${UNCLEAN_CHARS}&<>"']`);

/** `clean`, then HTML-escaped: safe in text and in quoted attributes. */
export function escapeHtml(s: string): string {
  if (!NEEDS_ESCAPING.test(s)) return s;
  return clean(s).replace(/[&<>"']/g, (ch) => {
    switch (ch) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      default:
        return '&#39;';
    }
  });
}
