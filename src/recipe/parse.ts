import { type Document, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { z } from 'zod';
import type { Arch } from '../engine/types.js';
import { RebuildError } from '../util/errors.js';
import { classify } from './classify.js';
import {
  type BuildAsset,
  type Dialect,
  HOST_ARCHES,
  HOST_OSES,
  type License,
  PKG_TYPES,
  type Provide,
  type Recipe,
  SHELLS,
  type SubPackage,
} from './types.js';

/** Recipes above this size are refused before parsing (real ones are under 100 KB). */
export const MAX_RECIPE_BYTES = 4 * 1024 * 1024;

const SBUILD_FIX =
  'an SBUILD recipe starts with the line "#!/SBUILD" (or "#!/SBUILD ver @v1.0.0") followed by YAML';

/** Keys the parser interprets; anything else is kept in `raw` and listed in `unknownKeys`. */
const KNOWN_KEYS = new Set([
  '_disabled',
  '_disabled_reason',
  'pkg',
  'pkg_id',
  'pkg_type',
  'pkgver',
  'version',
  'remote_pkgver',
  'app_id',
  'ghcr_pkg',
  'build_util',
  'build_asset',
  'build_deps',
  'category',
  'description',
  'distro_pkg',
  'homepage',
  'maintainer',
  'icon',
  'desktop',
  'license',
  'note',
  'provides',
  'packages',
  'repology',
  'snapshots',
  'src_url',
  'tag',
  'x_exec',
]);

// ---------------------------------------------------------------- helpers

/** How a value looks in an error message: `"python"`, `a number`, `a list`. */
function got(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}

function typeError(what: string) {
  return (iss: { input?: unknown }) =>
    iss.input === undefined ? 'required field is missing' : `must be ${what} (got ${got(iss.input)})`;
}

const nonEmptyString = (what = 'a string') =>
  z
    .string({ error: typeError(what) })
    .refine((s) => s.trim() !== '', { error: 'must not be empty', abort: true });

/** Optional free-form list: a string becomes a one-item list, nulls and empties are dropped, anything else ignored (as the linter does). */
const looseList = z
  .unknown()
  .optional()
  .transform((v) =>
    (Array.isArray(v) ? v : typeof v === 'string' ? [v] : [])
      .filter((x): x is string => typeof x === 'string' && x.trim() !== '')
      .filter((x, i, a) => a.indexOf(x) === i),
  );

function isWebUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 'ftp:';
  } catch {
    return false;
  }
}

const srcUrlSchema = z
  .array(
    z.union([z.string(), z.null()], {
      error: (iss) => `each entry must be a URL string (got ${got(iss.input)})`,
    }),
    {
      error: typeError('a list of URLs'),
    },
  )
  .transform((a) => a.filter((x): x is string => x !== null && x.trim() !== '').map((x) => x.trim()))
  .refine((a) => a.length > 0, { error: 'must contain at least one URL' })
  .superRefine((a, ctx) => {
    for (const u of a)
      if (!isWebUrl(u)) ctx.addIssue({ code: 'custom', message: `${got(u)} is not an http(s) or ftp URL` });
  })
  .transform((a) => a.filter((x, i) => a.indexOf(x) === i));

const disabledSchema = z
  .union([z.boolean(), z.string()], { error: typeError('true or false') })
  .transform((v, ctx) => {
    if (typeof v === 'boolean') return v;
    const s = v.trim().toLowerCase();
    if (['true', 'yes', 'on', '1'].includes(s)) return true;
    if (['false', 'no', 'off', '0', ''].includes(s)) return false;
    ctx.addIssue({ code: 'custom', message: `must be true or false (got ${got(v)})` });
    return z.NEVER;
  });

const descriptionSchema = z.union(
  [
    nonEmptyString(),
    z
      .record(
        z.string(),
        z
          .string({ error: typeError('a string') })
          .refine((s) => s.trim() !== '', { error: 'must not be empty' }),
      )
      .refine((m) => Object.keys(m).length > 0, { error: 'must not be an empty mapping' }),
  ],
  {
    error: (iss) =>
      iss.input === undefined
        ? 'required field is missing'
        : `must be a string or a mapping of program to description (got ${got(iss.input)})`,
  },
);

const licenseSchema = z
  .union([z.array(z.unknown()), z.string(), z.null()], { error: typeError('a list of licences') })
  .transform((v, ctx): License[] => {
    const items = v === null ? [] : Array.isArray(v) ? v : [v];
    const out: License[] = [];
    items.forEach((item, i) => {
      if (item === null) return;
      if (typeof item === 'string') {
        if (item.trim() !== '') out.push({ id: item.trim() });
        return;
      }
      if (typeof item === 'object' && !Array.isArray(item)) {
        const o = item as Record<string, unknown>;
        if (typeof o.id !== 'string' || o.id.trim() === '') {
          ctx.addIssue({
            code: 'custom',
            path: [i, 'id'],
            message: `must be a licence id string (got ${got(o.id)})`,
          });
          return;
        }
        const lic: License = { id: o.id.trim() };
        if (typeof o.url === 'string' && o.url.trim() !== '') lic.url = o.url.trim();
        if (typeof o.file === 'string' && o.file.trim() !== '') lic.file = o.file.trim();
        out.push(lic);
        return;
      }
      ctx.addIssue({
        code: 'custom',
        path: [i],
        message: `must be a licence id or {id, url|file} (got ${got(item)})`,
      });
    });
    return out;
  });

const buildAssetSchema = z.array(
  z.object(
    {
      url: nonEmptyString('a URL string'),
      out: nonEmptyString('a file name'),
    },
    { error: typeError('a mapping with url and out') },
  ),
  { error: typeError('a list of {url, out}') },
);

const hostList = (field: 'host' | 'arch' | 'os') =>
  z
    .array(
      z.union([z.string(), z.null()], {
        error: (iss) => `each entry must be a string (got ${got(iss.input)})`,
      }),
      {
        error: typeError('a list of strings'),
      },
    )
    .transform((a) =>
      a
        .filter((x): x is string => x !== null && x.trim() !== '')
        .map((x) => x.trim().toLowerCase())
        .filter((x, i, all) => all.indexOf(x) === i),
    )
    .superRefine((a, ctx) => {
      for (const v of a) {
        if (field === 'arch' && !(HOST_ARCHES as readonly string[]).includes(v))
          ctx.addIssue({
            code: 'custom',
            message: `${got(v)} is not a supported architecture (one of ${HOST_ARCHES.join(', ')})`,
          });
        if (field === 'os' && !(HOST_OSES as readonly string[]).includes(v))
          ctx.addIssue({
            code: 'custom',
            message: `${got(v)} is not a supported OS (one of ${HOST_OSES.join(', ')})`,
          });
        if (field === 'host') {
          const [arch, os, extra] = v.split('-');
          if (
            extra !== undefined ||
            !(HOST_ARCHES as readonly string[]).includes(arch ?? '') ||
            !(HOST_OSES as readonly string[]).includes(os ?? '')
          )
            ctx.addIssue({
              code: 'custom',
              message: `${got(v)} is not a supported <arch>-<os> pair (arch: ${HOST_ARCHES.join(', ')}; os: ${HOST_OSES.join(', ')})`,
            });
        }
      }
    });

const optionalString = (what: string) => z.string({ error: typeError(what) }).optional();

const xExecSchema = z.looseObject(
  {
    shell: z
      .string({ error: typeError(`one of ${SHELLS.join(', ')}`) })
      .transform((s) => {
        const t = s.trim();
        // `/bin/bash` names the same shell as `bash` (the linter only checked it was on PATH).
        return t.includes('/') ? t.slice(t.lastIndexOf('/') + 1) : t;
      })
      .pipe(
        z.enum(SHELLS, { error: (iss) => `must be one of ${SHELLS.join(', ')} (got ${got(iss.input)})` }),
      ),
    run: z.string({ error: typeError('a script (string)') }).optional(),
    pkgver: optionalString('a script (string)'),
    entrypoint: optionalString('a string'),
    container: optionalString('an image reference (string)'),
    bsys: optionalString('a string like docker://go or host://soar-dl'),
    host: hostList('host').optional(),
    arch: hostList('arch').optional(),
    os: hostList('os').optional(),
  },
  { error: typeError('a mapping with shell and run') },
);

const optionalValue = z.union([z.string(), z.null()], { error: typeError('a string') }).optional();

const recipeSchema = z.looseObject({
  _disabled: disabledSchema,
  pkg: nonEmptyString().refine((s) => /^[\p{L}\p{N}+\-_.]+$/u.test(s.trim()), {
    error: 'must only contain letters, digits, +, -, _ and .',
  }),
  pkg_id: optionalValue,
  pkg_type: optionalValue,
  pkgver: optionalValue,
  version: optionalValue,
  ghcr_pkg: optionalValue,
  description: descriptionSchema,
  src_url: srcUrlSchema,
  homepage: looseList,
  provides: looseList,
  license: licenseSchema.optional(),
  build_asset: buildAssetSchema.optional(),
  packages: z
    .record(
      z.string(),
      z.looseObject({ provides: looseList }, { error: typeError('a mapping with provides') }),
      {
        error: typeError('a mapping of package name to {provides}'),
      },
    )
    .optional(),
  x_exec: xExecSchema,
});

type RecipeInput = z.infer<typeof recipeSchema>;

// ---------------------------------------------------------------- YAML

/** YAML node to JS, keeping numbers as the text that was written (`pkgver: 1.10` stays "1.10"). */
/**
 * What one recipe may expand to: YAML aliases can make a 4 MiB file stand
 * for an exponential tree (an alias bomb), so aliases and the nodes visited
 * are counted and parsing stops, with a clear error, well before memory or
 * time run out (and the signal handlers stay responsive).
 */
const MAX_ALIASES = 1000;
const MAX_NODES = 500_000;

class ExpansionBudget {
  aliases = 0;
  nodes = 0;
  constructor(readonly file: string) {}
  visit(alias: boolean): void {
    this.nodes++;
    if (alias) this.aliases++;
    if (this.aliases > MAX_ALIASES || this.nodes > MAX_NODES) {
      throw new RebuildError(
        'input',
        `the YAML expands past ${this.aliases > MAX_ALIASES ? `${MAX_ALIASES} aliases` : `${MAX_NODES} nodes`} (an alias bomb?)`,
        { subject: this.file, fix: 'a recipe needs few aliases; expand them or remove them' },
      );
    }
  }
}

function toLoose(node: unknown, doc: Document, budget: ExpansionBudget, depth = 0): unknown {
  if (depth > 64) return null;
  budget.visit(isAlias(node));
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === 'number' || typeof v === 'bigint') return node.source ?? String(v);
    return v;
  }
  if (isMap(node)) {
    const o: Record<string, unknown> = {};
    for (const p of node.items) {
      const k = isScalar(p.key) ? (p.key.source ?? String(p.key.value)) : String(p.key);
      if (k === '__proto__') continue;
      o[k] = toLoose(p.value, doc, budget, depth + 1);
    }
    return o;
  }
  if (isSeq(node)) return node.items.map((n) => toLoose(n, doc, budget, depth + 1));
  if (isAlias(node)) return toLoose(node.resolve(doc), doc, budget, depth + 1);
  return node ?? null;
}

// ---------------------------------------------------------------- parts

/** pkg_id as the linter derives it: `https://github.com/a/b?x` → `github.com.a.b`. */
export function pkgIdFromUrl(url: string): string {
  const rest = url.includes('://') ? url.slice(url.indexOf('://') + 3) : url;
  const q = rest.indexOf('?');
  return (q >= 0 ? rest.slice(0, q) : rest).replaceAll('/', '.').replace(/^\.+|\.+$/g, '');
}

/** Parse one `provides` entry (see Provide). Returns undefined for an entry without a program name. */
export function parseProvide(entry: string): Provide | undefined {
  const raw = entry;
  const s = entry.trim();
  const split = (sep: string, kind: Provide['kind']): Provide | undefined => {
    const k = s.indexOf(sep);
    const name = s.slice(0, k).trim();
    const target = s.slice(k + sep.length).trim();
    if (name === '') return undefined;
    return target === '' ? { name, kind: 'plain', raw } : { name, kind, target, raw };
  };
  if (s.startsWith('@')) {
    const name = s.slice(1).trim();
    return name === '' ? undefined : { name, kind: 'extra', raw };
  }
  if (s.includes('==')) return split('==', 'symlink');
  if (s.includes('=>')) return split('=>', 'rename');
  if (s.includes(':')) return split(':', 'alias');
  return s === '' ? undefined : { name: s, kind: 'plain', raw };
}

function normalizeHost(h: string): string {
  const [arch = '', os = ''] = h.split('-');
  return `${arch}-${os.charAt(0).toUpperCase()}${os.slice(1)}`;
}

function archesFromHosts(hosts: string[]): Arch[] {
  if (hosts.length === 0) return ['x86_64', 'aarch64'];
  const out: Arch[] = [];
  for (const h of hosts) {
    const [arch, os] = h.toLowerCase().split('-');
    if (os !== 'linux') continue;
    if ((arch === 'x86_64' || arch === 'aarch64') && !out.includes(arch)) out.push(arch);
  }
  return out;
}

function formatIssues(issues: z.core.$ZodIssue[]): string {
  const lines = issues.slice(0, 5).map((iss) => {
    const path = iss.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
      .join('.')
      .replaceAll('.[', '[');
    return path ? `${path}: ${iss.message}` : iss.message;
  });
  const more = issues.length > 5 ? `; and ${issues.length - 5} more problem(s)` : '';
  return lines.join('; ') + more;
}

/** Reject content that is not text: NUL bytes or many undecodable characters near the start. */
function checkText(text: string, file: string): void {
  const head = text.slice(0, 65536);
  const nul = head.indexOf('\u0000');
  if (nul >= 0)
    throw new RebuildError('input', `not a text file (NUL byte at offset ${nul})`, {
      subject: file,
      fix: SBUILD_FIX,
    });
  let bad = 0;
  for (let i = 0; i < head.length; i++) {
    const c = head.charCodeAt(i);
    if (c === 0xfffd || (c < 32 && c !== 9 && c !== 10 && c !== 13)) bad++;
  }
  if (bad > 8 && bad > head.length / 100)
    throw new RebuildError('input', `not a text file (${bad} undecodable or control characters)`, {
      subject: file,
      fix: SBUILD_FIX,
    });
}

// ---------------------------------------------------------------- main

/**
 * Parse and validate one SBUILD recipe. Pure: `file` is only used in
 * messages and copied to the result. Throws RebuildError('input') naming the
 * field and what is wrong.
 */
export function parseRecipe(text: string, file: string): Recipe {
  if (text.length > MAX_RECIPE_BYTES)
    throw new RebuildError(
      'input',
      `file is too large for a recipe (${(text.length / 1048576).toFixed(1)} MiB; limit ${MAX_RECIPE_BYTES / 1048576} MiB)`,
      { subject: file },
    );
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '')
    throw new RebuildError('input', 'file is empty', { subject: file, fix: SBUILD_FIX });
  checkText(text, file);

  const nl = text.indexOf('\n');
  const first = (nl < 0 ? text : text.slice(0, nl)).replace(/\r$/, '');
  const header = /^\s*#!\/SBUILD(?=\s|$)(?:\s+ver\s+@?(\S+))?/.exec(first);
  if (!header)
    throw new RebuildError('input', `first line must be "#!/SBUILD" (got ${got(first)})`, {
      subject: file,
      fix: SBUILD_FIX,
    });
  const nl2 = nl < 0 ? -1 : text.indexOf('\n', nl + 1);
  const second = nl < 0 ? '' : text.slice(nl + 1, nl2 < 0 ? undefined : nl2).replace(/\r$/, '');
  const self = /^\s*#\s*SELF:\s*(\S+)/.exec(second)?.[1];

  // The header lines are YAML comments, so the whole text parses and line numbers match the file.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const msg = e.message.split('\n')[0]!.replace(/:\s*$/, '');
    throw new RebuildError('input', `invalid YAML: ${msg}`, {
      subject: file,
      fix: 'correct the YAML at that line (an SBUILD is YAML after its #!/SBUILD line); `rebuild recipe FILE` checks it again',
      cause: e,
    });
  }
  const loose = toLoose(doc.contents, doc, new ExpansionBudget(file));
  if (loose === null || typeof loose !== 'object' || Array.isArray(loose))
    throw new RebuildError(
      'input',
      `the YAML after "#!/SBUILD" must be a mapping of fields (got ${got(loose)})`,
      {
        subject: file,
        fix: SBUILD_FIX,
      },
    );
  const fields = loose as Record<string, unknown>;

  const parsed = recipeSchema.safeParse(fields);
  if (!parsed.success) throw new RebuildError('input', formatIssues(parsed.error.issues), { subject: file });
  const r: RecipeInput = parsed.data;
  const x = r.x_exec;

  // pkg_type
  const pkgType = r.pkg_type?.trim() || undefined;
  if (pkgType !== undefined && !(PKG_TYPES as readonly string[]).includes(pkgType))
    throw new RebuildError(
      'input',
      `pkg_type: must be one of ${PKG_TYPES.join(', ')} (got ${got(pkgType)})`,
      {
        subject: file,
      },
    );

  // provides / packages
  const provides: Provide[] = [];
  for (const p of r.provides) {
    const pr = parseProvide(p);
    if (!pr) throw new RebuildError('input', `provides: ${got(p)} names no program`, { subject: file });
    provides.push(pr);
  }
  const packages: SubPackage[] = [];
  for (const [name, sub] of Object.entries(r.packages ?? {})) {
    const subProvides: Provide[] = [];
    for (const p of sub.provides) {
      const pr = parseProvide(p);
      if (!pr)
        throw new RebuildError('input', `packages.${name}.provides: ${got(p)} names no program`, {
          subject: file,
        });
      subProvides.push(pr);
    }
    packages.push({ name, provides: subProvides });
  }
  if (r.packages !== undefined && packages.length === 0)
    throw new RebuildError('input', 'packages: must not be an empty mapping', { subject: file });

  const container = x.container?.trim() || undefined;
  const dialect: Dialect =
    container !== undefined ||
    'ghcr_pkg' in fields ||
    'packages' in fields ||
    'build_deps' in fields ||
    'remote_pkgver' in fields ||
    'snapshots' in fields ||
    provides.some((p) => p.kind === 'extra')
      ? '2026'
      : '2025';

  const run = x.run ?? '';
  if (run.trim() === '' && dialect === '2025')
    throw new RebuildError(
      'input',
      x.run === undefined ? 'x_exec.run: required field is missing' : 'x_exec.run: must not be empty',
      {
        subject: file,
        fix: 'x_exec.run holds the build script; only 2026 recipes with x_exec.container may omit it',
      },
    );

  // description
  let description: string;
  let descriptions: Record<string, string> = {};
  if (typeof r.description === 'string') description = r.description.trim();
  else {
    descriptions = Object.fromEntries(Object.entries(r.description).map(([k, v]) => [k, v.trim()]));
    description = descriptions._default ?? descriptions[r.pkg.trim()] ?? Object.values(descriptions)[0]!;
  }

  // hosts
  let hosts: string[];
  if (x.host && x.host.length > 0) hosts = x.host.map(normalizeHost);
  else if ((x.arch && x.arch.length > 0) || (x.os && x.os.length > 0)) {
    const arches = x.arch && x.arch.length > 0 ? x.arch : [...HOST_ARCHES];
    const oses = x.os && x.os.length > 0 ? x.os : ['linux'];
    hosts = arches.flatMap((a) => oses.map((o) => normalizeHost(`${a}-${o}`)));
  } else hosts = [];

  // programs: provides (or pkg when there are none), then sub-packages
  const pkg = r.pkg.trim();
  const programs: string[] = [];
  const add = (n: string) => {
    if (!programs.includes(n)) programs.push(n);
  };
  if (provides.length > 0) for (const p of provides) add(p.name);
  else if (packages.length === 0) add(pkg);
  for (const sp of packages) for (const p of sp.provides) add(p.name);

  const pkgIdGiven = r.pkg_id?.trim();
  const pkgId = pkgIdGiven || pkgIdFromUrl(r.src_url[0]!);
  if (!/^[\p{L}\p{N}+\-_.]+$/u.test(pkgId))
    throw new RebuildError(
      'input',
      `pkg_id: must only contain letters, digits, +, -, _ and . (got ${got(pkgId)})`,
      {
        subject: file,
      },
    );

  const pkgver = (r.pkgver ?? r.version ?? '').trim() || undefined;
  const bsys = x.bsys?.trim() || undefined;
  const { mode, images, dockerRuns } = classify({ run, container, bsys });
  const buildAssets: BuildAsset[] = (r.build_asset ?? []).map((a) => ({
    url: a.url.trim(),
    out: a.out.trim(),
  }));

  let raw: Record<string, unknown>;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 }) as Record<string, unknown>;
  } catch {
    raw = fields;
  }

  const recipe: Recipe = {
    file,
    dialect,
    disabled: r._disabled,
    pkg,
    pkgId,
    pkgIdDerived: !pkgIdGiven,
    description,
    descriptions,
    srcUrl: r.src_url,
    homepage: r.homepage,
    license: r.license ?? [],
    provides,
    packages,
    programs,
    buildAssets,
    shell: x.shell,
    run,
    hosts,
    arches: archesFromHosts(hosts),
    mode,
    images,
    dockerRuns,
    unknownKeys: Object.keys(fields).filter((k) => !KNOWN_KEYS.has(k)),
    raw,
  };
  if (header[1]) recipe.headerVersion = header[1];
  if (self) recipe.self = self;
  if (pkgType) recipe.pkgType = pkgType;
  if (pkgver) recipe.pkgver = pkgver;
  if (x.pkgver !== undefined && x.pkgver.trim() !== '') recipe.pkgverScript = x.pkgver;
  if (x.entrypoint !== undefined && x.entrypoint.trim() !== '') recipe.entrypoint = x.entrypoint;
  if (container) recipe.container = container;
  if (bsys) recipe.bsys = bsys;
  return recipe;
}
