import type { EmulatorInfo } from '../engine/emulator.js';
import type { ContainerHardening } from '../engine/hardening.js';
import type { Arch } from '../engine/types.js';
import type { Verdict } from '../forensics/types.js';
import type { PostProcessRecord } from '../postprocess/apply.js';
import type { RecipeEnvOfRecord, RewrittenLine } from '../recipe/index.js';
import type { RecipeMode } from '../recipe/types.js';

/**
 * `<outdir>/result.json`: everything a person or a script needs to know about
 * one rebuild, and every input needed to run it again.
 */
export type BuildStatus = 'reproducible' | 'mismatch' | 'built' | 'failed';

export interface ImageInput {
  /** As the recipe names it (or `host-runner`). */
  asWritten: string;
  tag: string;
  id: string;
  builder: string;
  inputsHash: string;
}

export interface OutputRecord {
  name: string;
  size: number;
  sha256: string;
  blake3: string;
  /** Before pkgforge's post-processing, when it changed the file. */
  unstripped?: { path: string; size: number; sha256: string; blake3: string };
  expected?: { sha256?: string; blake3?: string; source: string };
  check?: 'match' | 'mismatch';
  /**
   * The chosen post-processing profile did not reproduce the expected bytes,
   * but this plausible one (near a boundary date, or no date) did, applied to
   * the same rebuilt original.
   */
  reproducedBy?: { profile: string; steps: string[] };
  comparison?: {
    verdict: Verdict;
    against: string;
    summary: string;
    reports: { json: string; markdown: string; html: string };
    /** Regions `--exclude` left out of these reports (still counted in the verdict). */
    excluded?: string[];
  };
}

export interface BuildResult {
  schema: 'rebuild.build/1';
  status: BuildStatus;
  /** For a mismatch: the forensic verdict of the main file (worst of all outputs). */
  verdict?: Verdict;
  recipe: { file: string; sha256: string; pkg: string; pkgId: string; pkgType?: string; mode: RecipeMode };
  arch: Arch;
  outDir: string;
  inputs: {
    rebuildVersion: string;
    image: ImageInput;
    innerImages: { name: string; asWritten: string; tag: string; id: string; policy: string[] }[];
    emulator: EmulatorInfo;
    pkgver: { value?: string; source: string; remote?: string };
    /** The builder of record's environment, script header and version semantics. */
    recipeEnv?: RecipeEnvOfRecord;
    /** The CI of record's `docker run` rewrite, when it applied (no lines changed: the recipe carried it). */
    recipeRewrite?: { source: string; changed: RewrittenLine[] };
    network: 'none' | 'host';
    limits: {
      memoryBytes: number;
      pids: number;
      timeoutMs: number;
      cpus?: number;
      diskReserveBytes?: number;
    };
    engine: { version: string; apiVersion: string };
    /** The defences in depth every container of the build had (capabilities, user namespace, …). */
    hardening?: ContainerHardening;
  };
  notes: string[];
  outputs: OutputRecord[];
  /** Expected files that the build did not produce. */
  missing: string[];
  skippedOutputs: { name: string; reason: string }[];
  postProcessing?: PostProcessRecord;
  log: string;
  failure?: { message: string; fix?: string; exitCode?: number; timedOut?: boolean; logTail: string[] };
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}
