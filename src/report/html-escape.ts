import { clean } from './format.js';

/** `clean`, then HTML-escaped: safe in text and in quoted attributes. */
export function escapeHtml(s: string): string {
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
