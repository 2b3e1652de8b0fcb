/**
 * Loopback fixtures for TOML-era tests: a static file server with Range
 * support (and a fault that cuts the first response short), soarpkgs
 * package trees written from real hashes, and an sbuild index signed by
 * the real minisign binary with a throw-away key.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { join } from 'node:path';
import { hashBytes } from '../../src/hash/digest.js';

export interface FileServer {
  url: string;
  /** path → bytes served. */
  files: Map<string, Buffer>;
  /** Range headers seen, in order. */
  ranges: string[];
  /** Cut the next response to this path after half its bytes. */
  cutOnce: Set<string>;
  stop(): Promise<void>;
}

export async function startFileServer(): Promise<FileServer> {
  const files = new Map<string, Buffer>();
  const ranges: string[] = [];
  const cutOnce = new Set<string>();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const body = files.get(path);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    let start = 0;
    const range = req.headers.range;
    if (range) {
      ranges.push(range);
      start = Number(/^bytes=(\d+)-$/.exec(range)?.[1] ?? 0);
      res.writeHead(206, {
        'content-length': body.length - start,
        'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
      });
    } else res.writeHead(200, { 'content-length': body.length });
    if (cutOnce.delete(path)) {
      res.write(body.subarray(start, start + Math.floor((body.length - start) / 2)));
      setTimeout(() => req.socket.destroy(), 20);
      return;
    }
    res.end(body.subarray(start));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    files,
    ranges,
    cutOnce,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface PinnedPackage {
  name: string;
  version: string;
  host: string;
  url: string;
  bytes: Buffer;
  pkgToml: string;
  /** Lines of pkg.toml after [source] (e.g. an install map). */
  source?: string;
}

/** Writes packages/<name>/pkg.toml and <name>-<version>.toml pinning `bytes` at `url`. */
export function writeSoarPackage(tree: string, p: Omit<PinnedPackage, 'pkgToml'>): string {
  const dir = join(tree, 'packages', p.name);
  mkdirSync(dir, { recursive: true });
  const d = hashBytes(p.bytes);
  writeFileSync(
    join(dir, 'pkg.toml'),
    [
      '[pkg]',
      `name = "${p.name}"`,
      'type = "static"',
      `description = "test package ${p.name}"`,
      '',
      '[host]',
      `supported = ["${p.host}"]`,
      '',
      '[update]',
      'strategy = "github-releases"',
      `repo = "example/${p.name}"`,
      '',
      '[source]',
      p.source ?? '',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, `${p.name}-${p.version}.toml`),
    [
      `version = "${p.version}"`,
      'date = "2026-08-01T00:00:00Z"',
      '[url]',
      `${p.host} = "${p.url}"`,
      '[blake3]',
      `${p.host} = "${d.blake3}"`,
      '[sha256]',
      `${p.host} = "${d.sha256}"`,
      '[size]',
      `${p.host} = ${d.size}`,
      '',
    ].join('\n'),
  );
  return join(dir, 'pkg.toml');
}

/** A minisign key pair made by the real minisign binary (no password). */
export function minisignKey(dir: string): { pub: string; sec: string } {
  const pub = join(dir, 'index.pub');
  const sec = join(dir, 'index.key');
  if (!existsSync(pub)) execFileSync('minisign', ['-G', '-W', '-p', pub, '-s', sec], { stdio: 'ignore' });
  return { pub, sec };
}

/** Writes an sbuild-format index for `entries` and signs it as soarpkgs' workflow does (`-x <index>.sig`). */
export function writeSignedIndex(
  path: string,
  entries: Array<Record<string, unknown>>,
  key: { sec: string },
): void {
  writeFileSync(path, `${JSON.stringify({ format: 1, packages: entries }, null, 2)}\n`);
  execFileSync('minisign', ['-S', '-s', key.sec, '-m', path, '-x', `${path}.sig`, '-t', 'test index'], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
}

export function indexEntry(p: {
  name: string;
  version: string;
  url: string;
  bytes: Buffer;
}): Record<string, unknown> {
  const d = hashBytes(p.bytes);
  return {
    pkg_name: p.name,
    pkg_type: 'static',
    description: `test package ${p.name}`,
    version: p.version,
    download_url: p.url,
    size: d.size,
    src_url: [],
    homepage: [],
    license: [],
    maintainer: [],
    category: [],
    shasum: d.sha256,
    bsum: d.blake3,
  };
}

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}
