/**
 * minisign signatures of published files, checked before anything is built:
 * loopback-published examples signed with the test's own key (Debian's
 * `minisign`), a signature by another key, a tampered one and a missing one.
 * Every case here stops before the build (an integrity failure, or a
 * checksum mismatch after the signature), so no engine is needed.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifyResult } from '../../src/verify/types.js';
import { REPO, rebuild } from '../helpers/cli.js';
import {
  type PushFile,
  publishPackage,
  type RunningServer,
  startMetadataServer,
  startRegistry,
} from '../helpers/registry.js';

const TALLY = join(REPO, 'examples', 'tally-container');
const PUB = join(TALLY, 'published', 'x86_64');
let work: string;
let registry: RunningServer;
let meta: RunningServer;
const records: unknown[] = [];

async function keypair(name: string): Promise<string> {
  await execa('minisign', ['-G', '-W', '-p', join(work, `${name}.pub`), '-s', join(work, `${name}.sec`)]);
  return join(work, `${name}.pub`);
}
async function signWith(name: string, file: string): Promise<Buffer> {
  const out = join(work, `${name}-${Math.random().toString(36).slice(2)}.sig`);
  await execa('minisign', ['-S', '-s', join(work, `${name}.sec`), '-m', file, '-x', out, '-t', 'test']);
  return readFile(out);
}

async function publish(pkg: string, sig: Buffer | undefined, overrides: Record<string, unknown> = {}) {
  const files: PushFile[] = [
    { name: 'tally', path: join(PUB, 'tally') },
    { name: 'SBUILD', path: join(TALLY, 'SBUILD') },
    { name: 'tally.version', path: join(PUB, 'tally.version') },
    { name: 'CHECKSUM', path: join(PUB, 'CHECKSUM') },
    ...(sig ? [{ name: 'tally.sig', bytes: sig }] : []),
  ];
  const p = await publishPackage(registry.url, {
    repo: 'bincache',
    arch: 'x86_64',
    pkg,
    pkgId: `example.invalid.${pkg}`,
    pkgName: pkg,
    pkgFamily: pkg,
    version: '2.1.0',
    buildDate: '2025-05-01T00:00:00Z',
    mainFile: 'tally',
    files,
    overrides,
  });
  records.push(p.record);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'rebuild-sig-test-'));
  registry = await startRegistry();
  await keypair('ours');
  await keypair('theirs');
  const tally = join(PUB, 'tally');
  const good = await signWith('ours', tally);
  // a wrong bsum stops verify right after the signature check: no build needed
  const stop = { bsum: 'f'.repeat(64) };
  await publish('signed-ok', good, stop);
  await publish('signed-other', await signWith('theirs', tally));
  const lines = good.toString('utf8').split('\n');
  lines[3] = Buffer.alloc(64, 7).toString('base64'); // global signature forged
  await publish('signed-tampered', Buffer.from(lines.join('\n')));
  await publish('unsigned', undefined, stop);
  meta = await startMetadataServer({ bincache: { x86_64: records as never[] } });
}, 120_000);

afterAll(async () => {
  await meta?.stop();
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

/** `rebuild <pkg>` against the loopback servers; `key` undefined: no --minisign-key (the repository default). */
async function verify(
  pkg: string,
  key: string | null = join(work, 'ours.pub'),
  out = join(work, `out-${pkg}`),
) {
  const r = await rebuild(
    [
      pkg,
      '--arch',
      'x86_64',
      '--out',
      out,
      '--metadata-base',
      meta.url,
      '--registry-mirror',
      `ghcr.io=${registry.url}`,
      ...(key ? ['--minisign-key', key] : []),
    ],
    { env: { XDG_CACHE_HOME: join(work, 'cache') } },
  );
  const result = await readFile(join(out, 'result.json'), 'utf8')
    .then((t) => JSON.parse(t) as VerifyResult)
    .catch(() => undefined);
  return { r, result };
}

describe('minisign signatures of published files', () => {
  it('a good signature by the repository key: signature ok (then the checksum failure stops it)', async () => {
    const { result } = await verify('signed-ok');
    expect(result?.signature).toMatchObject({ status: 'ok', key: '--minisign-key', trustedComment: 'test' });
    expect(result?.verdict).toBe('upstream-integrity');
    expect(result?.summary).toContain('signature ok');
    expect(result?.build).toBeUndefined();
  });

  it('a signature by another key is an upstream integrity failure, before anything is built', async () => {
    const { r, result } = await verify('signed-other');
    expect(result?.verdict).toBe('upstream-integrity');
    expect(result?.signature?.status).toBe('bad');
    expect(result?.summary).toMatch(/signature BAD: signed by key [0-9A-F]{16}, not by the repository's key/);
    expect(result?.build).toBeUndefined();
    expect(r.exitCode).not.toBe(0);
  });

  it('a tampered signature is an upstream integrity failure', async () => {
    const { result } = await verify('signed-tampered');
    expect(result?.verdict).toBe('upstream-integrity');
    expect(result?.signature?.reason).toContain('trusted comment');
  });

  it('no signature in the artifact: said, not fatal', async () => {
    const { result } = await verify('unsigned');
    expect(result?.signature?.status).toBe('none');
    expect(result?.summary).toContain('no signature');
  });

  it("by default the repository's pkgforge key is used: our signature does not pass it", async () => {
    const { result } = await verify('signed-ok', null, join(work, 'out-default'));
    expect(result?.signature).toMatchObject({ status: 'bad', key: 'the bincache key' });
  });

  it('a malformed --minisign-key is a usage error naming the fix', async () => {
    const bad = join(work, 'bad.pub');
    await writeFile(bad, 'not a key\n');
    const { r, result } = await verify('signed-ok', bad, join(work, 'out-badkey'));
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/minisign public key/);
    expect(result).toBeUndefined();
  });
});
