/**
 * `rebuild audit status`: the queue and the workers at a glance (like
 * rebuilderd's `rebuildctl status` and `queue ls`): queued, running (by
 * worker), done and given-up work, what waits for a capable worker, and
 * every worker with its capabilities and whether it is alive.
 */
import { clean } from '../../report/format.js';
import type { AuditStore, JobRow, WorkerRow } from '../store.js';
import { WORKER_ALIVE_MS } from './coordinator.js';
import { routable } from './routing.js';

export interface FarmStatus {
  schema: 'rebuild.audit-status/1';
  database: string;
  audit: { id: number; status: string; startedAt: string; selected: number | null } | null;
  counts: { queued: number; running: number; done: number; givenUp: number; waiting: number };
  running: Array<{ unit: string; worker: string | null; mode: string | null; since: string | null }>;
  queued: Array<{
    unit: string;
    arch: string;
    needs: Record<string, string>;
    priority: number;
    waiting: boolean;
  }>;
  workers: Array<WorkerRow & { alive: boolean }>;
}

export async function farmStatus(store: AuditStore, auditId?: number): Promise<FarmStatus> {
  const audit = auditId === undefined ? (await store.audits(1))[0] : await store.audit(auditId);
  const workers = await store.workers(WORKER_ALIVE_MS);
  const open = await store.jobs({ states: ['queued', 'running'] });
  const mine: JobRow[] = audit ? await store.jobs({ auditId: audit.id }) : [];
  const queued = open.filter((j) => j.state === 'queued');
  const waiting = (j: JobRow) => !routable(j, workers);
  return {
    schema: 'rebuild.audit-status/1',
    database: store.path,
    audit: audit
      ? { id: audit.id, status: audit.status, startedAt: audit.startedAt, selected: audit.selected }
      : null,
    counts: {
      queued: queued.length,
      running: open.length - queued.length,
      done: mine.filter((j) => j.state === 'done').length,
      givenUp: mine.filter((j) => j.state === 'given-up').length,
      waiting: queued.filter(waiting).length,
    },
    running: open
      .filter((j) => j.state === 'running')
      .map((j) => ({ unit: j.unit, worker: j.worker, mode: j.workerMode, since: j.startedAt })),
    queued: queued.map((j) => ({
      unit: j.unit,
      arch: j.arch,
      needs: j.needs,
      priority: j.priority,
      waiting: waiting(j),
    })),
    workers,
  };
}

const tags = (t: Record<string, string>) =>
  Object.entries(t)
    .map(([k, v]) => `${k}=${v}`)
    .join(',') || '-';

export function renderFarmStatus(s: FarmStatus): string {
  const out: string[] = [];
  out.push(clean(`database: ${s.database}`));
  if (s.audit) {
    out.push(
      clean(
        `audit #${s.audit.id}: ${s.audit.status}, started ${s.audit.startedAt}, ${s.audit.selected ?? 0} selected`,
      ),
    );
  }
  const c = s.counts;
  out.push(
    `jobs: ${c.queued} queued (${c.waiting} waiting for a capable worker), ${c.running} running, ${c.done} done, ${c.givenUp} given up`,
  );
  if (s.running.length) {
    out.push('', 'running:');
    for (const r of s.running)
      out.push(clean(`  ${r.unit}  on ${r.worker ?? '?'} (${r.mode ?? '?'}) since ${r.since ?? '?'}`));
  }
  if (s.queued.length) {
    out.push('', 'queued:');
    for (const q of s.queued) {
      out.push(
        clean(
          `  ${q.unit}  priority ${q.priority}${Object.keys(q.needs).length ? `  needs ${tags(q.needs)}` : ''}${q.waiting ? '  WAITING: no live worker can take it' : ''}`,
        ),
      );
    }
  }
  out.push('', 'workers:');
  if (s.workers.length === 0) out.push('  none registered');
  for (const w of s.workers) {
    out.push(
      clean(
        `  ${w.name}  ${w.alive ? 'alive' : w.stoppedAt ? 'stopped' : 'gone'}  ${w.arches.map((a) => `${a.arch}/${a.mode}`).join(',')}  tags ${tags(w.tags)}  ${w.busy}/${w.jobs} busy  last seen ${w.heartbeatAt}`,
      ),
    );
  }
  return `${out.join('\n')}\n`;
}
