/**
 * CPU time a PostgreSQL server has used, ms: the postmaster's own, that of
 * its backends that have exited (reaped, so counted in its children's
 * times), and that of the ones still running. Read from /proc (Linux), so
 * the queue bench can put the server's CPU beside the workers'.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const HZ = 100;

async function stat(pid: string): Promise<string[] | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // The fields after the command name (which may hold spaces), from field 3 (state) on.
  return text?.slice(text.lastIndexOf(')') + 2).split(' ');
}

export async function serverCpuMs(dataDir: string): Promise<number> {
  const pid = (await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]!.trim();
  const own = await stat(pid);
  if (!own) throw new Error(`the PostgreSQL server (pid ${pid}) is not running`);
  // utime, stime, cutime, cstime are fields 14–17: indexes 11–14 from field 3.
  let ticks = [11, 12, 13, 14].reduce((a, i) => a + Number(own[i]), 0);
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const f = await stat(p);
    if (f && f[1] === pid) ticks += Number(f[11]) + Number(f[12]);
  }
  return (ticks * 1000) / HZ;
}
