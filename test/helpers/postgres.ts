/**
 * A throw-away PostgreSQL cluster from Debian's packages: `initdb` into a
 * temporary directory, `pg_ctl start` on 127.0.0.1 and a free port, password
 * authentication over TCP (so a wrong password is really refused), stopped
 * and deleted after. As root it runs as the `postgres` user (the server
 * refuses to run as root).
 */
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export interface RunningPostgres {
  /** `postgresql://rebuild:<password>@127.0.0.1:<port>/<db>` */
  url: string;
  port: number;
  password: string;
  /** The cluster's data directory (its `postmaster.pid` names the server's process). */
  dataDir: string;
  /** A fresh database on the cluster; its connection string. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** Debian puts the server binaries in /usr/lib/postgresql/<major>/bin. */
async function binDir(): Promise<string> {
  const r = await execa('sh', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1'], {
    reject: false,
  });
  const dir = r.stdout.trim();
  if (!dir) {
    throw new Error(
      'PostgreSQL is not installed: run scripts/setup-engine.sh --with-test-tools (installs postgresql)',
    );
  }
  return dir;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export async function startPostgres(): Promise<RunningPostgres> {
  const bin = await binDir();
  const root = await mkdtemp(join(tmpdir(), 'rebuild-pg-'));
  const data = join(root, 'data');
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const pwfile = join(root, 'pw');
  await writeFile(pwfile, `${password}\n`);
  const asRoot = userInfo().uid === 0;
  const run = (cmd: string, args: string[]) =>
    asRoot
      ? execa('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args])
      : execa(join(bin, cmd), args);
  if (asRoot) {
    const { stdout } = await execa('id', ['-u', 'postgres']);
    const { stdout: gid } = await execa('id', ['-g', 'postgres']);
    await chown(root, Number(stdout), Number(gid));
    await chown(pwfile, Number(stdout), Number(gid));
  }
  await chmod(root, 0o700);
  await run('initdb', [
    '-D',
    data,
    '-U',
    'rebuild',
    '--pwfile',
    pwfile,
    '--auth-local=scram-sha-256',
    '--auth-host=scram-sha-256',
    '-E',
    'UTF8',
    '--no-instructions',
  ]);
  const port = await freePort();
  await run('pg_ctl', [
    '-D',
    data,
    '-w',
    '-t',
    '60',
    '-l',
    join(root, 'log'),
    '-o',
    `-c listen_addresses=127.0.0.1 -p ${port} -k ${root} -c fsync=off -c max_connections=200`,
    'start',
  ]);
  const base = `postgresql://rebuild:${password}@127.0.0.1:${port}`;
  let stopped = false;
  return {
    url: `${base}/postgres`,
    port,
    password,
    dataDir: data,
    async createDatabase(name: string) {
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: `${base}/postgres` });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
      } finally {
        await c.end();
      }
      return `${base}/${name}`;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
}
