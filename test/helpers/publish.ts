/**
 * Publishes the shipped examples (`examples/<dir>/SBUILD` with its
 * `published/<arch>/` outputs) to a loopback registry as pkgforge would:
 * one OCI artifact per package version and arch (the program, SBUILD,
 * `<prog>.version`, CHECKSUM, a build log), and returns the metadata record
 * that points at it (see test/helpers/registry.ts). Used by test/audit and
 * bench/audit.ts; any test that needs "the examples, as pkgforge published
 * them" can use it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import type { Arch } from '../../src/engine/types.js';
import type { RepoName } from '../../src/upstream/types.js';
import { REPO } from './cli.js';
import { type PushFile, publishPackage } from './registry.js';

export const EXAMPLES_DIR = join(REPO, 'examples');

/** The examples with a published/<arch>/ directory: directory → the program it makes. */
export const EXAMPLES = {
  'hello-docker-run': 'hello-rb',
  'tally-container': 'tally',
  'wc-host': 'lc',
} as const;

export type ExampleDir = keyof typeof EXAMPLES;

export interface PublishExampleOptions {
  arch?: Arch;
  repo?: RepoName;
  /** Default: the example's published `<prog>.version`. */
  version?: string;
  /** Replace the published program's bytes (an upstream that changed). */
  mainBytes?: Uint8Array;
  /** Replace the recipe of record (e.g. a slower one for interruption tests). */
  sbuild?: string;
  /** Default `2025-03-04T05:06:07Z`. */
  buildDate?: string;
  /** Raw record fields to set after the record is made. */
  overrides?: Record<string, unknown>;
}

export interface PublishedExample {
  /** The metadata record (every value a string), as the index serves it. */
  record: Record<string, unknown>;
  pkg: string;
  pkgId: string;
  version: string;
  arch: Arch;
  repository: string;
  tag: string;
  manifestDigest: string;
}

/** pkg and pkg_id as the example's SBUILD declares them. */
export async function exampleIdentity(dir: ExampleDir): Promise<{ pkg: string; pkgId: string }> {
  const text = await readFile(join(EXAMPLES_DIR, dir, 'SBUILD'), 'utf8');
  const doc = YAML.parse(text.replace(/^#!.*\n/, '')) as { pkg: string; pkg_id: string };
  return { pkg: doc.pkg, pkgId: doc.pkg_id };
}

/** Pushes one example for one arch and returns its metadata record. */
export async function publishExample(
  registryUrl: string,
  dir: ExampleDir,
  opts: PublishExampleOptions = {},
): Promise<PublishedExample> {
  const arch = opts.arch ?? 'x86_64';
  const prog = EXAMPLES[dir];
  const { pkg, pkgId } = await exampleIdentity(dir);
  const pub = join(EXAMPLES_DIR, dir, 'published', arch);
  const version = opts.version ?? (await readFile(join(pub, `${prog}.version`), 'utf8')).trim();
  const files: PushFile[] = [
    opts.mainBytes ? { name: prog, bytes: opts.mainBytes } : { name: prog, path: join(pub, prog) },
    opts.sbuild !== undefined
      ? { name: 'SBUILD', bytes: Buffer.from(opts.sbuild) }
      : { name: 'SBUILD', path: join(EXAMPLES_DIR, dir, 'SBUILD') },
    { name: `${prog}.version`, bytes: Buffer.from(`${version}\n`) },
    { name: 'CHECKSUM', path: join(pub, 'CHECKSUM') },
    { name: `${prog}.log`, bytes: Buffer.from(`build log of record for ${pkg} ${version} (${arch})\n`) },
  ];
  const p = await publishPackage(registryUrl, {
    repo: opts.repo ?? 'bincache',
    arch,
    pkg,
    pkgId,
    pkgName: prog,
    pkgFamily: pkg,
    version,
    buildDate: opts.buildDate ?? '2025-03-04T05:06:07Z',
    mainFile: prog,
    files,
    ...(opts.overrides ? { overrides: opts.overrides } : {}),
  });
  return {
    record: p.record,
    pkg,
    pkgId,
    version,
    arch,
    repository: p.repository,
    tag: p.tag,
    manifestDigest: p.manifestDigest,
  };
}
