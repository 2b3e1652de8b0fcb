/**
 * Reading TOML recipe files (soarpkgs `pkg.toml` + version files,
 * pkgforge/builds `build.toml`): bounded read, parse with smol-toml, and
 * typed field accessors whose errors name the file, the field and the fix.
 */
import { readFileSync, statSync } from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import { messageOf, RebuildError } from '../../util/errors.js';

/** A parsed TOML document (tables are plain objects). */
export type Table = Record<string, unknown>;

/** TOML recipe files above this size are refused before parsing (real ones are under 40 KB). */
export const MAX_TOML_BYTES = 4 * 1024 * 1024;

export const HEX64 = /^[0-9a-f]{64}$/;

/** The file's text and the SHA-256 of its bytes, refused when oversized or unreadable. */
export function readTomlText(path: string): { text: string; bytes: Buffer } {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory())
      throw new RebuildError('input', 'is a directory, not a TOML file', { subject: path });
    size = st.size;
  } catch (err) {
    if (err instanceof RebuildError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new RebuildError('input', code === 'ENOENT' ? 'no such file' : `cannot read: ${messageOf(err)}`, {
      subject: path,
    });
  }
  if (size > MAX_TOML_BYTES)
    throw new RebuildError(
      'input',
      `file is too large for a recipe (${size} bytes; limit ${MAX_TOML_BYTES})`,
      {
        subject: path,
      },
    );
  const bytes = readFileSync(path);
  return { text: bytes.toString('utf8'), bytes };
}

/** Parses TOML; a syntax error names the line and column. */
export function parseToml(text: string, file: string): Table {
  try {
    return parse(text) as Table;
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split('\n')[0] ?? err.message;
      throw new RebuildError('input', `not valid TOML at line ${err.line}, column ${err.column}: ${first}`, {
        subject: file,
        fix: 'fix the TOML syntax (https://toml.io/en/v1.0.0)',
      });
    }
    throw new RebuildError('input', `not valid TOML: ${messageOf(err)}`, { subject: file });
  }
}

export function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** Typed accessors over one file's tables; every error names `file` and the dotted field. */
export class Fields {
  constructor(readonly file: string) {}

  fail(field: string, message: string, fix?: string): never {
    throw new RebuildError('input', `${field} ${message}`, { subject: this.file, fix });
  }

  table(parent: Table, key: string, field: string, required = false): Table {
    const v = parent[key];
    if (v === undefined) {
      if (required) this.fail(field, 'is missing', `add a [${field}] table`);
      return {};
    }
    if (!isTable(v)) this.fail(field, 'must be a table');
    return v;
  }

  string(parent: Table, key: string, field: string, required: true): string;
  string(parent: Table, key: string, field: string, required?: false): string | undefined;
  string(parent: Table, key: string, field: string, required = false): string | undefined {
    const v = parent[key];
    if (v === undefined) {
      if (required) this.fail(field, 'is missing');
      return undefined;
    }
    if (typeof v !== 'string') this.fail(field, 'must be a string');
    return v;
  }

  bool(parent: Table, key: string, field: string, fallback: boolean): boolean {
    const v = parent[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(field, 'must be true or false');
    return v;
  }

  /** A list of strings; a lone string is read as a one-element list (pkgforge writes both). */
  strings(parent: Table, key: string, field: string): string[] {
    const v = parent[key];
    if (v === undefined) return [];
    if (typeof v === 'string') return [v];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
      this.fail(field, 'must be a list of strings');
    return v as string[];
  }

  /** A table whose every value is a string (e.g. `[url]`, `[build.env]`), in file order. */
  stringMap(parent: Table, key: string, field: string): Record<string, string> {
    const t = this.table(parent, key, field);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(t)) {
      if (typeof v !== 'string') this.fail(`${field}.${k}`, 'must be a string');
      out[k] = v;
    }
    return out;
  }

  hexMap(parent: Table, key: string, field: string): Record<string, string> {
    const m = this.stringMap(parent, key, field);
    for (const [k, v] of Object.entries(m))
      if (!HEX64.test(v)) this.fail(`${field}.${k}`, 'must be 64 lowercase hex digits');
    return m;
  }

  sizeMap(parent: Table, key: string, field: string): Record<string, number> {
    const t = this.table(parent, key, field);
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(t)) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
        this.fail(`${field}.${k}`, 'must be a size in bytes (a non-negative integer)');
      out[k] = v;
    }
    return out;
  }

  /** A list of tables (`[[extra]]`, `[[tool]]`). */
  tables(parent: Table, key: string, field: string): Table[] {
    const v = parent[key];
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => !isTable(x)))
      this.fail(field, `must be a list of tables ([[${field}]])`);
    return v as Table[];
  }
}

/** Keys of `t` not in `known`, prefixed with `prefix` (kept and reported, never rejected). */
export function unknownKeys(t: Table, known: readonly string[], prefix = ''): string[] {
  return Object.keys(t)
    .filter((k) => !known.includes(k))
    .map((k) => `${prefix}${k}`);
}

/** A relative path that cannot leave the directory it is joined to. */
export function isSafeRelativePath(p: string): boolean {
  if (p === '' || p.startsWith('/') || p.includes('\0') || p.includes('\\')) return false;
  return p.split('/').every((part) => part !== '..' && part !== '');
}
