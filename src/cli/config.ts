/**
 * The config file: the options people retype, read from --config FILE,
 * $REBUILD_CONFIG, $XDG_CONFIG_HOME/rebuild/config.yaml or
 * ~/.config/rebuild/config.yaml. Command-line flags win over it. An invalid
 * file is an input error naming the file, the key and the fix.
 */
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Arch, parseArch } from '../engine/types.js';
import { RebuildError } from '../util/errors.js';
import { readRegularFileSync } from '../util/regular-file.js';

// yaml and zod load only when there is a config file to read: every command
// checks the config, and most runs have none (their import was a tenth of the
// start-up of `rebuild compare`, measured by the start-up bench).
const require = createRequire(import.meta.url);

function buildSchema() {
  const { z } = require('zod') as typeof import('zod');
  const arch = z.string().refine((v) => parseArch(v) !== undefined, 'must be x86_64 or aarch64');
  return z
    .object({
      /** Metadata base URL (<url>/<repo>/<arch>-Linux.json). */
      metadata_base: z.url({ protocol: /^https?$/ }).optional(),
      /** Registry host → mirror URL. */
      registry_mirrors: z.record(z.string().min(1), z.url({ protocol: /^https?$/ })).optional(),
      /** Builder name → local image. */
      image_map: z.record(z.string().min(1), z.string().min(1)).optional(),
      /** Download cache root. */
      cache_dir: z.string().min(1).optional(),
      /** Audit database (state). */
      state_db: z.string().min(1).optional(),
      /** Packages verified at once by `rebuild audit`. */
      jobs: z.number().int().min(1).max(64).optional(),
      /** Default --arch. */
      arch: arch.optional(),
    })
    .strict();
}

type ConfigSchemaType = ReturnType<typeof buildSchema>;
let schema: ConfigSchemaType | undefined;

/** The config file's schema (zod), built on first use. */
export function configSchema(): ConfigSchemaType {
  schema ??= buildSchema();
  return schema;
}

export type RebuildConfig = import('zod').infer<ConfigSchemaType>;

export interface LoadedConfig {
  path: string;
  /** Whether the file exists (an absent default file is an empty config). */
  found: boolean;
  explicit: boolean;
  values: RebuildConfig;
}

type Env = Record<string, string | undefined>;

/** Where the config comes from: --config in argv, $REBUILD_CONFIG, then the XDG default. */
export function configPath(
  argv: readonly string[] = process.argv,
  env: Env = process.env,
): { path: string; explicit: boolean } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--config' && argv[i + 1]) return { path: resolve(argv[i + 1] as string), explicit: true };
    if (a.startsWith('--config=')) return { path: resolve(a.slice('--config='.length)), explicit: true };
  }
  if (env.REBUILD_CONFIG) return { path: resolve(env.REBUILD_CONFIG), explicit: true };
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return { path: join(base, 'rebuild', 'config.yaml'), explicit: false };
}

/** Parses and validates config text. Pure. */
export function parseConfig(text: string, path: string): RebuildConfig {
  let doc: unknown;
  try {
    doc = (require('yaml') as typeof import('yaml')).parse(text) ?? {};
  } catch (err) {
    throw new RebuildError('input', `not valid YAML: ${(err as Error).message.split('\n')[0]}`, {
      subject: path,
      fix: 'fix the YAML syntax (keys like `arch: aarch64`, one per line)',
    });
  }
  const r = configSchema().safeParse(doc);
  if (!r.success) {
    const issues = r.error.issues.map((i) => {
      const key = i.path.join('.') || (i.code === 'unrecognized_keys' ? i.keys.join(', ') : '(top level)');
      return `${key}: ${i.message}`;
    });
    throw new RebuildError('input', `invalid config: ${issues.join('; ')}`, {
      subject: path,
      fix: `use only ${Object.keys(configSchema().shape).join(', ')} (see \`rebuild config --help\`)`,
    });
  }
  return r.data;
}

let cached: { config?: LoadedConfig; error?: RebuildError } | undefined;

/** Loads the config once per process; an invalid file is kept as an error for `requireValidConfig`. */
export function loadConfig(argv: readonly string[] = process.argv, env: Env = process.env): LoadedConfig {
  if (cached?.config) return cached.config;
  if (cached?.error) throw cached.error;
  const { path, explicit } = configPath(argv, env);
  try {
    let text: string;
    try {
      text = readRegularFileSync(path, 'config file', 1 << 20).toString('utf8');
    } catch (err) {
      const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'ENOENT' && !explicit) {
        cached = { config: { path, found: false, explicit, values: {} } };
        return cached.config as LoadedConfig;
      }
      // A directory, FIFO, device or oversized file: its own error says what it is and the fix.
      if (!code) throw err;
      throw new RebuildError('input', `cannot read the config file (${code})`, {
        subject: path,
        fix: explicit
          ? 'name an existing file with --config, or unset REBUILD_CONFIG'
          : 'make the file readable',
      });
    }
    cached = { config: { path, found: true, explicit, values: parseConfig(text, path) } };
    return cached.config as LoadedConfig;
  } catch (err) {
    cached = { error: err as RebuildError };
    throw err;
  }
}

/** Config values for option defaults: empty when the file is invalid (the action then reports it). */
export function configValues(): RebuildConfig {
  try {
    return loadConfig().values;
  } catch {
    return {};
  }
}

/** Throws the config's error, if it has one (every command action calls this first). */
export function requireValidConfig(): void {
  loadConfig();
}

export function configArch(): Arch | undefined {
  const a = configValues().arch;
  return a ? parseArch(a) : undefined;
}
