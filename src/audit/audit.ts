/**
 * `rebuild audit`, end to end: open the database, load the metadata, select
 * the units, clean up after killed runs, run the scheduler with the real
 * verifier, write the morning report, and close the audit with its exit code.
 */
import { mkdir, rename, rm, symlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type Docker from 'dockerode';
import { reapOrphans } from '../engine/cleanup.js';
import { connectEngine } from '../engine/docker.js';
import type { Arch, ContainerLimits } from '../engine/types.js';
import { loadMetadata, type MetadataIndex } from '../upstream/metadata.js';
import type { MetadataSource, RegistryOptions } from '../upstream/types.js';
import { writeFileAtomic } from '../util/atomic.js';
import { RebuildError } from '../util/errors.js';
import { readRegularFile } from '../util/regular-file.js';
import { verifyRecord } from '../verify/verify.js';
import { isPostgresUrl } from './db/sql.js';
import type { Environment, RetryPolicy } from './policy.js';
import {
  type AuditSummary,
  renderAuditHtml,
  renderAuditJson,
  renderAuditMarkdown,
  summarize,
} from './report.js';
import { reportContext } from './report-context.js';
import { type AuditOutcome, type AuditProgress, runAudit } from './run.js';
import {
  type IndexFilter,
  parsePackagesList,
  type Selection,
  selectFromIndex,
  selectFromList,
} from './select.js';
import { AuditStore, type StoreOptions } from './store.js';
import type { Verifier } from './types.js';

export function stateDir(): string {
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'rebuild');
}

/** `${XDG_STATE_HOME:-~/.local/state}/rebuild/audit.db` */
export function defaultDbPath(): string {
  return join(stateDir(), 'audit.db');
}

/** `${XDG_STATE_HOME:-~/.local/state}/rebuild/audits` (one `audit-<id>/` per audit). */
export function defaultReportsDir(): string {
  return join(stateDir(), 'audits');
}

/** `--db` as the store opens it: a connection string as given, a file path made absolute. */
export function dbLocation(db: string): string {
  return isPostgresUrl(db) ? db : resolve(db);
}

export interface AuditRequest {
  db: string;
  reportsDir: string;
  packagesFile?: string;
  filter: IndexFilter;
  limit?: number;
  arches: Arch[];
  jobs: number;
  recheck?: boolean;
  retryFailed?: boolean;
  retry: RetryPolicy;
  deadline?: Date;
  metadata: MetadataSource;
  registry: RegistryOptions;
  network?: 'none' | 'host';
  limits?: Partial<ContainerLimits>;
  imageMap?: Record<string, string>;
  signal?: AbortSignal;
}

export interface AuditDepsOverride {
  verify?: Verifier;
  progress?: AuditProgress;
  /** Skip the engine (no image checks, no reaping): unit tests and benches with a fake verifier. */
  engine?: Docker | null;
  store?: StoreOptions;
}

export interface AuditRun {
  summary: AuditSummary;
  exitCode: number;
  dir: string;
  reports: { json: string; markdown: string; html: string };
}

/** The real verifier: `verifyRecord` of src/verify (what `rebuild <pkg>` runs, minus the lookup). */
export const realVerifier: Verifier = (record, opts, reporter) => verifyRecord(record, { opts, reporter });

/** Local image tags → ids; a content-addressed tag (`…:<arch>-<hash12>`) is judged by its floating tag. */
export async function engineEnvironment(docker: Docker | null): Promise<Environment> {
  const ids = new Map<string, string>();
  if (docker) {
    for (const img of await docker.listImages()) for (const t of img.RepoTags ?? []) ids.set(t, img.Id);
  }
  return {
    imageId(tag) {
      if (!docker) return undefined;
      const floating = /^(.*):((?:x86_64|aarch64))-[0-9a-f]{12}$/.exec(tag);
      if (floating && ids.has(`${floating[1]}:${floating[2]}`))
        return ids.get(`${floating[1]}:${floating[2]}`);
      return ids.get(tag);
    },
  };
}

export async function loadSelection(
  req: AuditRequest,
): Promise<{ selection: Selection; indexes: MetadataIndex[] }> {
  const list = req.packagesFile
    ? parsePackagesList(
        (
          await readRegularFile(req.packagesFile, 'packages list', 64 << 20).catch((err: Error) => {
            const code = (err.cause as NodeJS.ErrnoException | undefined)?.code;
            throw new RebuildError('input', `cannot read the packages list: ${code ?? err.message}`, {
              subject: req.packagesFile,
              fix: 'give --packages a readable file with one package name or pkg_id per line',
            });
          })
        ).toString('utf8'),
        req.packagesFile,
      )
    : undefined;
  const metadata: MetadataSource = req.filter.repos
    ? { ...req.metadata, repos: req.filter.repos }
    : req.metadata;
  const indexes: MetadataIndex[] = [];
  for (const arch of req.arches) indexes.push(await loadMetadata(metadata, arch));
  const byArch = new Map(indexes.map((i) => [i.arch, i] as const));
  const selection = list
    ? selectFromList(list, byArch, req.packagesFile!)
    : selectFromIndex(new Map(indexes.map((i) => [i.arch, i.records] as const)), req.filter, req.limit);
  return { selection, indexes };
}

export async function runAuditRequest(req: AuditRequest, over: AuditDepsOverride = {}): Promise<AuditRun> {
  const store = await AuditStore.open(dbLocation(req.db), over.store);
  try {
    const { selection } = await loadSelection(req);
    const docker = over.engine === undefined ? await connectEngine() : over.engine;
    if (docker) await reapOrphans(docker);
    const env = await engineEnvironment(docker);
    const reportsDir = resolve(req.reportsDir);
    const outcome = await runAudit(
      selection.units,
      selection.unresolved,
      {
        jobs: req.jobs,
        recheck: req.recheck,
        retryFailed: req.retryFailed,
        retry: req.retry,
        deadline: req.deadline,
        outDir: (id) => join(reportsDir, `audit-${id}`),
        verify: {
          metadata: req.metadata,
          registry: req.registry,
          ...(req.network ? { network: req.network } : {}),
          ...(req.limits ? { limits: req.limits } : {}),
          ...(req.imageMap ? { imageMap: req.imageMap } : {}),
        },
        options: {
          packages: req.packagesFile ?? null,
          filter: req.filter,
          limit: req.limit ?? null,
          arches: req.arches,
          jobs: req.jobs,
          recheck: !!req.recheck,
          retryFailed: !!req.retryFailed,
          retry: req.retry,
          deadline: req.deadline?.toISOString() ?? null,
        },
        ...(req.signal ? { signal: req.signal } : {}),
      },
      {
        store,
        verify: over.verify ?? realVerifier,
        env,
        ...(over.progress ? { progress: over.progress } : {}),
      },
    );
    return await writeMorningReport(store, reportsDir, outcome, req.deadline);
  } finally {
    await store.close();
  }
}

/**
 * The morning report of a finished (or interrupted) audit, local or
 * distributed: summary.json, report.md and report.html in its directory,
 * `<reports>/latest` pointing at it, and the audit closed with its exit code.
 */
export async function writeMorningReport(
  store: AuditStore,
  reportsDir: string,
  outcome: AuditOutcome,
  deadline?: Date,
): Promise<AuditRun> {
  const dir = outcome.dir;
  await mkdir(dir, { recursive: true });
  const reports = {
    json: join(dir, 'summary.json'),
    markdown: join(dir, 'report.md'),
    html: join(dir, 'report.html'),
  };
  const status = outcome.interrupted ? 'interrupted' : 'finished';
  const summary = summarize({
    audit: { ...(await store.audit(outcome.auditId))!, status },
    database: store.path,
    items: outcome.items,
    reportDir: dir,
    reports,
    deadline,
    deadlineReached: outcome.deadlineReached,
    interrupted: outcome.interrupted,
    killed: outcome.killed,
    finishedAt: outcome.finishedAt,
    context: await reportContext(store, outcome.auditId, outcome.items),
  });
  const exitCode = summary.exit.code;
  await writeFileAtomic(reports.json, renderAuditJson(summary));
  await writeFileAtomic(reports.markdown, renderAuditMarkdown(summary));
  await writeFileAtomic(reports.html, renderAuditHtml(summary));
  await pointLatest(reportsDir, `audit-${outcome.auditId}`);
  await store.finishAudit(outcome.auditId, { status, exitCode, reportDir: dir });
  return { summary, exitCode, dir, reports };
}

/** `<reports>/latest` → the newest audit's directory (replaced atomically). */
async function pointLatest(reportsDir: string, name: string): Promise<void> {
  const tmp = join(reportsDir, `.latest-${process.pid}`);
  try {
    await rm(tmp, { force: true });
    await symlink(name, tmp);
    await rename(tmp, join(reportsDir, 'latest'));
  } catch {
    await rm(tmp, { force: true });
  }
}
