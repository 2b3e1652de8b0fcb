/**
 * `rebuild <pkg>`: the result of verifying one published package by
 * rebuilding it. Contract between verify (issue 4) and audit (issue 5).
 */

import type { BuildResult } from '../build/result.js';
import type { Arch, ContainerLimits } from '../engine/types.js';
import type { ProvenanceFinding, ProvenanceOptions } from '../evidence/provenance.js';
import type { Difference, Explanation } from '../forensics/types.js';
import type { ReportOptions } from '../report/options.js';
import type { MetadataSource, PackageRecord, RegistryOptions } from '../upstream/types.js';
import type { ErrorCategory } from '../util/errors.js';
import type { BuilderOfRecord } from './builder-of-record.js';

export type VerifyVerdict =
  /** the rebuilt main file has the published bytes */
  | 'reproducible'
  /** differs only in ways fully explained as benign */
  | 'equivalent'
  /** code, data, headers or unexplained bytes differ */
  | 'different'
  /** the recipe failed or timed out */
  | 'build-failed'
  /** the published file does not match its own published checksums */
  | 'upstream-integrity'
  /** could not be attempted (unknown builder, download failed …) */
  | 'error';

export interface VerifyOptions {
  /** `pkg`, `pkg_name`, `pkg_id`, `pkg_family`, optionally qualified `name#bincache`. */
  query: string;
  arch: Arch;
  metadata: MetadataSource;
  registry: RegistryOptions;
  /** Output directory (default `rebuild-out/<pkg>/<arch>`). */
  outDir?: string;
  network?: 'none' | 'host';
  limits?: Partial<ContainerLimits>;
  imageMap?: Record<string, string>;
  signal?: AbortSignal;
  /** Keep the build's work directory (debugging). */
  keepWork?: boolean;
  /** minisign public key (base64 line or .pub text) instead of the repository's default. */
  minisignKey?: string;
  /** Ask GitHub for pkgforge's build-provenance attestation of the published digest. */
  provenance?: ProvenanceOptions;
  /** A local recipe (`--recipe FILE`) rebuilt instead of the recipe of record. */
  recipeFile?: string;
  /** Run rebuild's local stand-in even when pkgforge's builder of record can be pulled. */
  localBuilder?: boolean;
  /** What the reports show (`--exclude`, `--max-diff-lines`, `--max-report-size`); never the verdict. */
  report?: ReportOptions;
}

/** A local recipe against the recipe of record: the same bytes, other bytes, or no recipe of record at all. */
export type LocalRecipeStanding = { is: 'identical' } | { is: 'different'; digest: string } | { is: 'none' };

/** Every input needed to run the same rebuild again (`rebuild replay result.json`). */
export interface VerifyInputs {
  query: string;
  arch: Arch;
  record: { repo: string; pkg: string; pkgId: string; version: string; buildDate: string; ghcrPkg: string };
  manifestDigest: string;
  /**
   * The recipe rebuilt: the artifact's SBUILD, or with `local` the file
   * `--recipe` named (copied to `path`); `ofRecord` then says how it stands
   * to the artifact's SBUILD, by SHA-256 (`none`: the artifact has none).
   */
  recipe: { digest: string; path: string; local?: string; ofRecord?: LocalRecipeStanding };
  pins: {
    pkgver: string;
    sourceCommit?: string;
    /** The builder image chosen and why (dated tag, or the local one). */
    image: { asWritten?: string; tag: string; id: string; reason: string };
  };
  emulator?: string;
  metadata: MetadataSource;
  registry: RegistryOptions;
  network: 'none' | 'host';
  /** The full validated record (replay uses it instead of asking the metadata again). */
  packageRecord?: PackageRecord;
  /** The files of record fetched: name → `sha256:<hex>` layer digest. */
  files?: Record<string, string>;
  /** Builder images started by a 2025 docker-run recipe (pins.image is the first of them). */
  innerImages?: { asWritten: string; tag: string; id: string }[];
  /** The image that ran the script, when it is not pins.image (the host-runner of 2025 recipes). */
  runImage?: { asWritten: string; tag: string; id: string };
  /** Each builder image the recipe names: pkgforge's image of record pulled by digest, or why it differs. */
  builderOfRecord?: BuilderOfRecord[];
  /** Decisions and warnings (pins that could not be honoured …). */
  notes?: string[];
  /** rebuild's version. */
  rebuildVersion?: string;
}

export interface VerifyResult {
  schema: 'rebuild.verify/1';
  verdict: VerifyVerdict;
  /** One sentence for people. */
  summary: string;
  package: Pick<PackageRecord, 'repo' | 'pkg' | 'pkgId' | 'pkgType' | 'version' | 'buildDate' | 'arch'>;
  published: {
    name: string;
    sha256: string;
    blake3: string;
    size: number;
    source: string;
    shasumOk: boolean;
    bsumOk: boolean;
  };
  /** The minisign signature of the published main file (`<file>.sig` in the artifact). */
  signature?: {
    status: 'ok' | 'none' | 'bad';
    /** The key checked against: `repository <repo>` or `--minisign-key`, and its id. */
    key: string;
    keyId?: string;
    trustedComment?: string;
    reason?: string;
  };
  rebuilt?: { name: string; sha256: string; blake3: string; size: number };
  explanations: Explanation[];
  differences: Difference[];
  inputs: VerifyInputs;
  build?: BuildResult;
  outDir: string;
  reports: { json: string; markdown?: string; html?: string };
  error?: { message: string; fix?: string; category?: ErrorCategory; subject?: string };
  /** pkgforge's own build-provenance attestation for the published digest (when asked). */
  provenance?: ProvenanceFinding;
  /** `rebuild replay`: the result this one re-ran, and whether the verdict stayed the same. */
  replayOf?: {
    result: string;
    verdict: VerifyVerdict;
    same: boolean;
    changes: string[];
    /** The limits given to replay over the recorded ones (`--memory`, `--timeout`, `--cpus`, `--pids`). */
    limits?: Partial<ContainerLimits>;
  };
  startedAt: string;
  durationMs: number;
}
