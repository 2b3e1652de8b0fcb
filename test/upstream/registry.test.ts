/**
 * The OCI client against the real distribution registry (Debian's
 * docker-registry on 127.0.0.1), with a fault-injecting proxy in front for
 * the token flow, corrupted blobs and dropped connections.
 */
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchIndexText, loadMetadata } from '../../src/upstream/metadata.js';
import { OciClient } from '../../src/upstream/oci.js';
import {
  assertPublishedIntegrity,
  fetchPublished,
  verifyPublishedFile,
} from '../../src/upstream/published.js';
import { matchPackage, parseRecord } from '../../src/upstream/records.js';
import type { PackageRecord, RegistryOptions } from '../../src/upstream/types.js';
import { RebuildError } from '../../src/util/errors.js';
import {
  type PackageSpec,
  publishPackage,
  type RunningServer,
  startFaultyProxy,
  startMetadataServer,
  startRegistry,
} from '../helpers/registry.js';

const EX = join(import.meta.dirname, '..', '..', 'examples', 'hello-docker-run');
const PUB = join(EX, 'published', 'aarch64');

let registry: RunningServer;
let dir: string;
let record: PackageRecord;
let rawRecord: Record<string, unknown>;
let layers: Array<{ name: string; digest: string; size: number }>;
let mainDigest: string;

const spec: PackageSpec = {
  repo: 'bincache',
  arch: 'aarch64',
  pkg: 'hello-rb.static',
  pkgId: 'example.rebuild.hello-rb',
  pkgName: 'hello-rb',
  pkgFamily: 'hello-rb',
  version: '1.0.0',
  buildDate: '2025-01-22T09:51:37Z',
  mainFile: 'hello-rb',
  files: [
    { name: 'hello-rb', path: join(PUB, 'hello-rb') },
    { name: 'hello-rb.sig', bytes: Buffer.from('signature of hello-rb\n') },
    { name: 'SBUILD', path: join(EX, 'SBUILD') },
    { name: 'hello-rb.version', path: join(PUB, 'hello-rb.version') },
    { name: 'hello-rb.log', bytes: Buffer.from('build log of hello-rb\n') },
    { name: 'CHECKSUM', path: join(PUB, 'CHECKSUM') },
    { name: 'LICENSE', bytes: Buffer.from('MIT\n') },
  ],
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-oci-test-'));
  registry = await startRegistry();
  const pub = await publishPackage(registry.url, spec);
  rawRecord = pub.record;
  layers = pub.layers;
  const parsed = parseRecord(rawRecord, 'bincache', 'aarch64');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.invalid.problems));
  record = parsed.record;
  mainDigest = layers.find((l) => l.name === 'hello-rb')!.digest;
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
function opts(base: string, extra: RegistryOptions = {}): RegistryOptions {
  n++;
  return {
    mirrors: { 'ghcr.io': base },
    cacheDir: join(dir, `cache-${n}`),
    retryBaseMs: 20,
    timeoutMs: 5000,
    ...extra,
  };
}

async function entries(path: string): Promise<string[]> {
  return readdir(path).catch(() => []);
}

async function rejection(p: Promise<unknown>): Promise<RebuildError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RebuildError) return err;
    throw err;
  }
  throw new Error('did not reject');
}

describe('fetchPublished against the real registry', () => {
  it("fetches the files of record and the main file's .sig (not other .sig, not LICENSE), each verified, and they verify against the record", async () => {
    const o = opts(registry.url);
    const art = await fetchPublished(record, o);
    expect(Object.keys(art.files).sort()).toEqual([
      'CHECKSUM',
      'SBUILD',
      'hello-rb',
      'hello-rb.log',
      'hello-rb.sig',
      'hello-rb.version',
    ]);
    expect(art.mainFile).toBe('hello-rb');
    expect(art.reference).toBe(record.ghcrPkg);
    expect(art.manifestDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(art.layers?.map((l) => l.name)).toContain('hello-rb.sig');
    expect(await readFile(art.files.SBUILD!.path)).toEqual(await readFile(join(EX, 'SBUILD')));
    expect(await readFile(art.files['hello-rb']!.path)).toEqual(await readFile(join(PUB, 'hello-rb')));
    expect(art.files['hello-rb']!.digest).toBe(`sha256:${record.shasum}`);
    expect(art.files['hello-rb']!.path).toBe(join(o.cacheDir!, 'sha256', record.shasum));
    const check = await verifyPublishedFile(record, art.files['hello-rb']!);
    expect(check).toMatchObject({ shasumOk: true, bsumOk: true, sha256: record.shasum, blake3: record.bsum });
    expect(() => assertPublishedIntegrity(record, 'hello-rb', check)).not.toThrow();
    // asking for named files (e.g. the .sig) gets exactly those; a missing one is an upstream error
    const sig = await fetchPublished(record, { ...o, files: ['hello-rb.sig'] });
    expect(Object.keys(sig.files)).toEqual(['hello-rb.sig']);
    const missing = await rejection(fetchPublished(record, { ...o, files: ['nope'] }));
    expect(missing.category).toBe('upstream');
    expect(missing.fix).toContain('SBUILD');
  });

  it('a record with a wrong bsum: the file is fetched, bsumOk is false, shasumOk true', async () => {
    const bad = parseRecord({ ...rawRecord, bsum: 'a'.repeat(64) }, 'bincache', 'aarch64');
    if (!bad.ok) throw new Error('record should be valid');
    const art = await fetchPublished(bad.record, opts(registry.url));
    const check = await verifyPublishedFile(bad.record, art.files['hello-rb']!);
    expect(check.bsumOk).toBe(false);
    expect(check.shasumOk).toBe(true);
    const err = (() => {
      try {
        assertPublishedIntegrity(bad.record, 'hello-rb', check);
      } catch (e) {
        return e as RebuildError;
      }
    })();
    expect(err?.category).toBe('upstream');
    expect(err?.message).toContain('bsum');
  });

  it('a second fetch with the same cache makes no blob request', async () => {
    const proxy = await startFaultyProxy(registry.url);
    try {
      const o = opts(proxy.url);
      await fetchPublished(record, o);
      expect(proxy.blobGets()).toBe(6);
      const again = await fetchPublished(record, o);
      expect(proxy.blobGets()).toBe(6);
      expect(Object.keys(again.files)).toHaveLength(6);
      // a cached file that was damaged is not trusted: re-verified, removed, fetched again
      const p = again.files['hello-rb']!.path;
      await chmod(p, 0o644);
      const bytes = await readFile(p);
      bytes[100] = bytes[100]! ^ 1;
      await writeFile(p, bytes);
      const third = await fetchPublished(record, o);
      expect(proxy.blobGets(mainDigest)).toBe(2);
      expect((await verifyPublishedFile(record, third.files['hello-rb']!)).shasumOk).toBe(true);
    } finally {
      await proxy.stop();
    }
  });

  it('the anonymous token flow: 401 + Bearer challenge → token → retried with it', async () => {
    const proxy = await startFaultyProxy(registry.url, { requireToken: true });
    try {
      const art = await fetchPublished(record, opts(proxy.url));
      expect(Object.keys(art.files)).toHaveLength(6);
      expect(proxy.requests.some((r) => r.status === 401)).toBe(true);
      expect(
        proxy.requests.some((r) => r.path.startsWith('/token?') && r.path.includes('scope=repository')),
      ).toBe(true);
      expect(proxy.tokensIssued).toBe(1); // one token for the repository, reused for every blob
      expect(proxy.blobGets()).toBe(6);
    } finally {
      await proxy.stop();
    }
  });

  it('a blob whose bytes do not match its digest: upstream error, nothing cached under the digest', async () => {
    const proxy = await startFaultyProxy(registry.url, { corruptBlob: mainDigest });
    try {
      const o = opts(proxy.url);
      const err = await rejection(fetchPublished(record, o));
      expect(err.category).toBe('upstream');
      expect(err.message).toContain(
        `blob ${mainDigest} of ghcr.io/${record.ghcrPkg.split('/').slice(1).join('/').split(':')[0]} (hello-rb) has digest sha256:`,
      );
      expect(err.message).toContain('the registry served other bytes than it advertised');
      expect(await entries(join(o.cacheDir!, 'sha256'))).not.toContain(mainDigest.slice(7));
      expect(await entries(join(o.cacheDir!, 'tmp'))).toEqual([]);
      expect(proxy.blobGets(mainDigest)).toBe(1); // not retried: a mismatch is not a network blip
    } finally {
      await proxy.stop();
    }
  });

  it('a connection dropped mid-blob is retried and succeeds', async () => {
    const proxy = await startFaultyProxy(registry.url, { dropBlob: { digest: mainDigest, times: 2 } });
    try {
      const o = opts(proxy.url);
      const art = await fetchPublished(record, o);
      expect(proxy.blobGets(mainDigest)).toBe(3);
      expect((await verifyPublishedFile(record, art.files['hello-rb']!)).shasumOk).toBe(true);
      expect(await entries(join(o.cacheDir!, 'tmp'))).toEqual([]);
    } finally {
      await proxy.stop();
    }
  });

  it('too many drops: network error after bounded retries, no partial file in place', async () => {
    const proxy = await startFaultyProxy(registry.url, { dropBlob: { digest: mainDigest, times: 100 } });
    try {
      const o = opts(proxy.url, { retries: 3 });
      const err = await rejection(fetchPublished(record, o));
      expect(err.category).toBe('network');
      expect(err.message).toContain('failed after 4 attempts');
      expect(err.message).toContain(mainDigest);
      expect(proxy.blobGets(mainDigest)).toBe(4);
      expect(await entries(join(o.cacheDir!, 'sha256'))).not.toContain(mainDigest.slice(7));
      expect(await entries(join(o.cacheDir!, 'tmp'))).toEqual([]);
    } finally {
      await proxy.stop();
    }
  });

  it('two clients fetching into one cache at once both succeed with the same verified files', async () => {
    const o = opts(registry.url);
    const [a, b] = await Promise.all([fetchPublished(record, o), fetchPublished(record, { ...o })]);
    expect(a.files['hello-rb']!.path).toBe(b.files['hello-rb']!.path);
    expect((await verifyPublishedFile(record, a.files['hello-rb']!)).shasumOk).toBe(true);
    expect(await entries(join(o.cacheDir!, 'tmp'))).toEqual([]);
  });

  it('manifests: by digest (verified), missing tag → upstream error', async () => {
    const client = new OciClient(opts(registry.url));
    const byTag = await client.getManifest(record.ghcrPkg, 'aarch64');
    const name = byTag.reference.name;
    const byDigest = await client.getManifest(`ghcr.io/${name}@${byTag.digest}`);
    expect(byDigest.digest).toBe(byTag.digest);
    expect(byDigest.manifest.layers.length).toBe(spec.files.length);
    const err = await rejection(client.getManifest(`ghcr.io/${name}:no-such-tag`));
    expect(err.category).toBe('upstream');
    expect(err.message).toContain('404');
    // a digest that is not the manifest's: the registry has no such manifest
    const other = await rejection(client.getManifest(`ghcr.io/${name}@sha256:${'0'.repeat(64)}`));
    expect(other.category).toBe('upstream');
  });
});

describe('metadata over HTTP', () => {
  it('retries a 5xx with backoff, then gives up with a network error', async () => {
    let calls = 0;
    const body = JSON.stringify([rawRecord]);
    const server = http.createServer((req, res) => {
      calls++;
      if (calls <= 2 || req.url?.includes('pkgcache')) res.writeHead(503).end('busy');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const text = await fetchIndexText(`${url}/bincache/aarch64-Linux.json`, {
        cacheDir: false,
        retries: 3,
      });
      expect(JSON.parse(text)).toHaveLength(1);
      expect(calls).toBe(3);
      const err = await rejection(
        fetchIndexText(`${url}/pkgcache/aarch64-Linux.json`, { cacheDir: false, retries: 1 }),
      );
      expect(err.category).toBe('network');
      expect(err.message).toContain('failed after 2 attempts: HTTP 503');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('loads bincache and pkgcache for one arch, revalidates with ETag, and matches across them', async () => {
    const pkgcacheRaw = {
      ...rawRecord,
      pkg: 'hello-rb.appimage',
      pkg_id: 'example.rebuild.hello-rb.appimage',
      ghcr_pkg: rawRecord.ghcr_pkg,
    };
    const server = await startMetadataServer({
      bincache: {
        aarch64: [rawRecord, { ...rawRecord, pkg: 'bad', pkg_name: 'bad', pkg_id: 'x.bad', shasum: '12' }],
      },
      pkgcache: { aarch64: [pkgcacheRaw] },
    });
    try {
      const source = { baseUrl: server.url, cacheDir: join(dir, 'meta-cache'), retries: 0 };
      const idx = await loadMetadata(source, 'aarch64');
      expect(idx.records.map((r) => `${r.pkg}#${r.repo}`).sort()).toEqual([
        'hello-rb.appimage#pkgcache',
        'hello-rb.static#bincache',
      ]);
      expect(idx.invalid.map((i) => i.label)).toEqual(['bad']);
      const err = (() => {
        try {
          matchPackage(idx, 'hello-rb');
        } catch (e) {
          return e as RebuildError;
        }
      })();
      expect(err?.message).toContain('hello-rb#bincache');
      expect(err?.message).toContain('hello-rb#pkgcache');
      expect(matchPackage(idx, 'hello-rb#pkgcache').pkg).toBe('hello-rb.appimage');
      await loadMetadata(source, 'aarch64');
      expect(server.log.map((l) => l.status)).toEqual([200, 200, 304, 304]);
      // an arch with no index: a clear error naming the URL
      const missing = await loadMetadata(source, 'x86_64').catch((e) => e as RebuildError);
      expect(missing).toBeInstanceOf(RebuildError);
      expect((missing as RebuildError).message).toContain('/x86_64-Linux.json: HTTP 404');
    } finally {
      await server.stop();
    }
  });
});
