/**
 * Real servers on 127.0.0.1 for tests of everything that talks to pkgforge's
 * publication: the distribution registry from Debian (`docker-registry`), a
 * metadata index server, a fault-injecting proxy in front of the registry,
 * and helpers that push pkgforge-shaped artifacts and make their metadata
 * records from the real file hashes. Shared by test/upstream, test/verify and
 * test/audit: keep this API stable.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Arch } from '../../src/engine/types.js';
import { hashBytes } from '../../src/hash/digest.js';
import { OciClient } from '../../src/upstream/oci.js';
import { type PushFile, pushArtifact as pushArtifactTo } from '../../src/upstream/oci-push.js';
import { sanitizeTag } from '../../src/upstream/reference.js';
import type { RepoName } from '../../src/upstream/types.js';

export type { PushFile } from '../../src/upstream/oci-push.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export interface RunningServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>` */
  host: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function listen(server: http.Server): Promise<RunningServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Starts the real distribution registry (Debian's `docker-registry`) on a
 * free loopback port with storage in a temp dir and no auth; resolves once
 * `/v2/` answers. `stop()` ends it and removes the storage.
 */
export async function startRegistry(): Promise<RunningServer & { storage: string }> {
  if (!existsSync(REGISTRY_BIN)) {
    throw new Error(
      `${REGISTRY_BIN} is missing: install it with \`sudo scripts/setup-engine.sh --with-test-tools\` (Debian package docker-registry)`,
    );
  }
  let lastErr = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'rebuild-registry-'));
    const port = await freePort();
    const config = [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      `  secret: ${randomBytes(16).toString('hex')}`,
      '',
    ].join('\n');
    await writeFile(join(dir, 'config.yml'), config);
    const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    let exited = false;
    // if the test process ends without stop(), do not leave the registry running
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    const exitPromise = new Promise<void>((resolve) =>
      child.once('exit', () => {
        exited = true;
        process.removeListener('exit', killOnExit);
        resolve();
      }),
    );
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 15_000;
    let up = false;
    while (!exited && Date.now() < deadline) {
      try {
        const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        if (res.status === 200) {
          up = true;
          break;
        }
      } catch {
        // not yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const stop = async () => {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exitPromise;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    };
    if (up) return { url, host: `127.0.0.1:${port}`, storage: join(dir, 'data'), stop };
    lastErr = stderr;
    await stop();
  }
  throw new Error(`docker-registry did not start: ${lastErr}`);
}

function clientFor(registryUrl: string): { client: OciClient; host: string } {
  const host = new URL(registryUrl).host;
  return { client: new OciClient({ mirrors: { [host]: registryUrl }, retries: 0 }), host };
}

/**
 * Pushes one layer per file (titled by its name, `application/octet-stream`)
 * and an OCI image manifest (empty config, artifactType) tagged `tag`, through
 * the real registry API. `registryUrl` may be the registry or a proxy in front.
 */
export async function pushArtifact(
  registryUrl: string,
  repository: string,
  tag: string,
  files: PushFile[],
  annotations?: Record<string, string>,
): Promise<{
  manifestDigest: string;
  layers: Array<{ name: string; digest: string; size: number; mediaType: string }>;
}> {
  const { client, host } = clientFor(registryUrl);
  const r = await pushArtifactTo(client, { host, name: repository, tag }, files, annotations);
  return { manifestDigest: r.manifestDigest, layers: r.layers };
}

export type RawIndexes = Partial<Record<RepoName, Partial<Record<Arch, unknown[]>>>>;

/**
 * Serves `/<repo>/<arch>-Linux.json` from `indexes` (with ETag and 304 on
 * If-None-Match). `set()` replaces the indexes; `requests` lists the paths asked,
 * `log` the paths with the status answered.
 */
export async function startMetadataServer(indexes: RawIndexes): Promise<
  RunningServer & {
    requests: string[];
    log: Array<{ path: string; status: number }>;
    set(indexes: RawIndexes): void;
  }
> {
  let current = indexes;
  const requests: string[] = [];
  const log: Array<{ path: string; status: number }> = [];
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push(path);
    const m = /^\/(bincache|pkgcache)\/(x86_64|aarch64)-Linux\.json$/.exec(path);
    const records = m ? current[m[1] as RepoName]?.[m[2] as Arch] : undefined;
    if (!records) {
      log.push({ path, status: 404 });
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const body = Buffer.from(JSON.stringify(records));
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
    if (req.headers['if-none-match'] === etag) {
      log.push({ path, status: 304 });
      res.writeHead(304, { etag }).end();
      return;
    }
    log.push({ path, status: 200 });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length, etag }).end(body);
  });
  const running = await listen(server);
  return {
    ...running,
    requests,
    log,
    set: (next) => {
      current = next;
    },
  };
}

/** What the faulty proxy does; change it at any time through `proxy.mode`. */
export interface FaultMode {
  /** Flip the first byte of this blob (`sha256:…`), or of every blob with `true`. */
  corruptBlob?: string | true;
  /** Send only the first `afterBytes` (default: half) of a blob, then drop the connection; `times` times. */
  dropBlob?: { times: number; digest?: string; afterBytes?: number };
  /** Answer 401 with a Bearer challenge unless the request carries a token issued by `/token`. */
  requireToken?: boolean;
}

export interface FaultyProxy extends RunningServer {
  mode: FaultMode;
  /** Every request the proxy saw: method, path (with query), status it answered. */
  requests: Array<{ method: string; path: string; status: number }>;
  /** GETs of `/v2/…/blobs/<digest>` (of one digest if given) that reached the registry. */
  blobGets(digest?: string): number;
  /** Tokens issued by the proxy's token endpoint. */
  tokensIssued: number;
}

/**
 * A loopback HTTP proxy in front of `target` (the registry URL) that can
 * corrupt a blob, drop the connection mid-blob, or demand the Bearer token
 * flow (serving its own token endpoint at `/token`).
 */
export async function startFaultyProxy(target: string, mode: FaultMode = {}): Promise<FaultyProxy> {
  const upstream = new URL(target);
  const issued = new Set<string>();
  const state = {
    mode,
    requests: [] as FaultyProxy['requests'],
    tokensIssued: 0,
    url: '',
  };
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    const record = (status: number) => state.requests.push({ method, path, status });
    const m = state.mode;
    if (path.startsWith('/token')) {
      const token = randomBytes(12).toString('hex');
      issued.add(token);
      state.tokensIssued++;
      record(200);
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token, expires_in: 300 }));
      return;
    }
    if (m.requireToken && path.startsWith('/v2/')) {
      const auth = req.headers.authorization ?? '';
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      if (!issued.has(token)) {
        const name = /^\/v2\/(.+?)\/(?:manifests|blobs|tags)\//.exec(path)?.[1] ?? '';
        record(401);
        req.resume();
        res
          .writeHead(401, {
            'content-type': 'application/json',
            'www-authenticate': `Bearer realm="${state.url}/token",service="faulty-proxy",scope="repository:${name}:pull"`,
          })
          .end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        return;
      }
    }
    const blob =
      method === 'GET' ? /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path.split('?')[0]!)?.[1] : undefined;
    const headers = { ...req.headers };
    delete headers.authorization;
    const preq = http.request(
      { hostname: upstream.hostname, port: upstream.port, method, path, headers },
      (pres) => {
        const status = pres.statusCode ?? 502;
        const corrupt = blob && status === 200 && (m.corruptBlob === true || m.corruptBlob === blob);
        const drop =
          blob &&
          status === 200 &&
          m.dropBlob &&
          m.dropBlob.times > 0 &&
          (!m.dropBlob.digest || m.dropBlob.digest === blob)
            ? m.dropBlob
            : undefined;
        record(status);
        if (!corrupt && !drop) {
          res.writeHead(status, pres.headers);
          pres.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        pres.on('data', (c: Buffer) => chunks.push(c));
        pres.on('end', () => {
          const body = Buffer.concat(chunks);
          if (drop) {
            drop.times--;
            const cut = Math.min(
              drop.afterBytes ?? Math.floor(body.length / 2),
              Math.max(body.length - 1, 0),
            );
            res.writeHead(status, pres.headers);
            res.write(body.subarray(0, cut), () => {
              res.socket?.destroy();
            });
            return;
          }
          if (body.length > 0) body[0] = body[0]! ^ 0xff;
          res.writeHead(status, pres.headers);
          res.end(body);
        });
      },
    );
    preq.on('error', () => {
      record(502);
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(preq);
  });
  const running = await listen(server);
  state.url = running.url;
  return {
    ...running,
    get mode() {
      return state.mode;
    },
    set mode(next: FaultMode) {
      state.mode = next;
    },
    requests: state.requests,
    blobGets: (digest?: string) =>
      state.requests.filter(
        (r) =>
          r.method === 'GET' &&
          /\/blobs\/sha256:[0-9a-f]{64}$/.test(r.path.split('?')[0]!) &&
          (!digest || r.path.split('?')[0]!.endsWith(`/blobs/${digest}`)),
      ).length,
    get tokensIssued() {
      return state.tokensIssued;
    },
  };
}

export interface PackageSpec {
  repo: RepoName;
  arch: Arch;
  /** `pkg` (e.g. `7z.static`). */
  pkg: string;
  pkgId: string;
  /** `pkg_name` (default: `mainFile`). */
  pkgName?: string;
  /** `pkg_family` (default: `pkgName`). */
  pkgFamily?: string;
  /** `pkg_type` (default `static`). */
  pkgType?: string;
  version: string;
  /** ISO time, e.g. `2025-01-22T09:51:37Z`. */
  buildDate: string;
  /** Name of the main program among `files`. */
  mainFile: string;
  files: PushFile[];
  /** Host written into `ghcr_pkg` (default `ghcr.io`: map it with `mirrors`). */
  registryHost?: string;
  /** OCI repository (default `pkgforge/<repo>/<family>/official/<mainFile>`). */
  repository?: string;
  /** Tag (default `<version>-<arch>-linux`, sanitized as pkgforge does). */
  tag?: string;
  description?: string;
  /** Raw fields to set or replace after the record is made (e.g. a wrong `bsum`). */
  overrides?: Record<string, unknown>;
}

/** Where `recordFor`/`publishPackage` put a package's artifact. */
export function artifactLocation(
  spec: Pick<
    PackageSpec,
    'repo' | 'arch' | 'version' | 'mainFile' | 'pkgName' | 'pkgFamily' | 'repository' | 'tag'
  >,
): {
  repository: string;
  tag: string;
} {
  const family = spec.pkgFamily ?? spec.pkgName ?? spec.mainFile;
  const lower = (s: string) => s.toLowerCase().replace(/[^a-z0-9._-]/g, '-');
  return {
    repository: spec.repository ?? `pkgforge/${spec.repo}/${lower(family)}/official/${lower(spec.mainFile)}`,
    tag: spec.tag ?? sanitizeTag(`${spec.version}-${spec.arch}-linux`),
  };
}

async function bytesOf(f: PushFile): Promise<Uint8Array> {
  if (f.bytes) return f.bytes;
  if (f.path) return readFile(f.path);
  throw new Error(`file ${f.name}: give path or bytes`);
}

/**
 * A metadata record for a package whose artifact is (or will be) pushed at
 * `artifactLocation(spec)`: pkgforge's fields, every value a string (arrays
 * of strings for lists), hashes computed from the real main file.
 */
export async function recordFor(spec: PackageSpec): Promise<Record<string, unknown>> {
  const main = spec.files.find((f) => f.name === spec.mainFile);
  if (!main) throw new Error(`recordFor: mainFile ${spec.mainFile} is not among files`);
  const d = hashBytes(await bytesOf(main));
  const host = spec.registryHost ?? 'ghcr.io';
  const { repository, tag } = artifactLocation(spec);
  const pkgName = spec.pkgName ?? spec.mainFile;
  const family = spec.pkgFamily ?? pkgName;
  const hostName = `${spec.arch}-Linux`;
  const api = `https://api.ghcr.pkgforge.dev/${repository.replace(/^pkgforge\//, 'pkgforge/')}?tag=${tag}`;
  const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
  let total = 0;
  for (const f of spec.files) total += (await bytesOf(f)).byteLength;
  const record: Record<string, unknown> = {
    _disabled: 'false',
    host: hostName,
    rank: '1',
    pkg: spec.pkg,
    pkg_family: family,
    pkg_id: spec.pkgId,
    pkg_name: pkgName,
    pkg_type: spec.pkgType ?? 'static',
    pkg_webpage: `https://pkgs.pkgforge.dev/repo/${spec.repo}/${spec.arch}-linux/${family}/${pkgName}`,
    description: spec.description ?? `${pkgName} (test package)`,
    provides: [spec.mainFile],
    src_url: [`https://example.invalid/${family}`],
    version: spec.version,
    version_upstream: spec.version,
    bsum: d.blake3,
    build_date: spec.buildDate,
    build_gha: 'https://github.com/pkgforge/bincache/actions/runs/1',
    build_id: '1',
    build_log: `${api}&download=${spec.mainFile}.log`,
    build_script: `https://github.com/pkgforge/soarpkgs/blob/main/binaries/${family}/static.official.stable.yaml`,
    download_url: `${api}&download=${spec.mainFile}`,
    ghcr_blob: `${host}/${repository}@sha256:${d.sha256}`,
    ghcr_files: spec.files.map((f) => f.name).sort(),
    ghcr_pkg: `${host}/${repository}:${tag}`,
    ghcr_size: mb(total),
    ghcr_size_raw: String(total),
    ghcr_url: `https://${host}/${repository}`,
    manifest_url: `${api}&manifest`,
    shasum: d.sha256,
    size: mb(d.size),
    size_raw: String(d.size),
    snapshots: [`${tag}[${spec.version}]`],
  };
  return { ...record, ...spec.overrides };
}

/**
 * Pushes a package's files to the registry at `artifactLocation(spec)` and
 * returns its metadata record (pointing at `registryHost`, default `ghcr.io`:
 * map that host to `registryUrl` with `mirrors`).
 */
export async function publishPackage(
  registryUrl: string,
  spec: PackageSpec,
): Promise<{
  record: Record<string, unknown>;
  repository: string;
  tag: string;
  manifestDigest: string;
  layers: Array<{ name: string; digest: string; size: number; mediaType: string }>;
}> {
  const { repository, tag } = artifactLocation(spec);
  const pushed = await pushArtifact(registryUrl, repository, tag, spec.files);
  return { record: await recordFor(spec), repository, tag, ...pushed };
}
