import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPkgforgeProvenance, statementCovers, workflowOf } from '../../src/evidence/provenance.js';

/**
 * pkgforge's GitHub build-provenance attestations, fetched from a real HTTP
 * server on loopback shaped like GitHub's attestations API, verified by the
 * real sigstore-js verifier. (No real pkgforge bundle can be fetched here:
 * see the note in the README; the verified case needs GitHub.)
 */
const PUBLISHED = 'ab'.repeat(32);
const OTHER = 'cd'.repeat(32);

/** The statement actions/attest-build-provenance writes (SLSA Provenance v1), for one subject. */
function statement(sha256: string) {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'tally', digest: { sha256 } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://actions.github.io/buildtypes/workflow/v1',
        externalParameters: {
          workflow: {
            ref: 'refs/heads/main',
            repository: 'https://github.com/pkgforge/bincache',
            path: '.github/workflows/matrix_builds.yaml',
          },
        },
        resolvedDependencies: [
          {
            uri: 'git+https://github.com/pkgforge/bincache@refs/heads/main',
            digest: { gitCommit: '338a3bae'.padEnd(40, '0') },
          },
        ],
      },
      runDetails: {
        metadata: { invocationId: 'https://github.com/pkgforge/bincache/actions/runs/1/attempts/1' },
      },
    },
  };
}

/** A Sigstore bundle (v0.3) around the statement, with a certificate nobody issued. */
function forgedBundle(sha256: string) {
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      certificate: { rawBytes: Buffer.from('not a certificate').toString('base64') },
      tlogEntries: [],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: {
      payload: Buffer.from(JSON.stringify(statement(sha256))).toString('base64'),
      payloadType: 'application/vnd.in-toto+json',
      signatures: [{ sig: Buffer.from('signature').toString('base64'), keyid: '' }],
    },
  };
}

let server: Server;
let api: string;
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const m = /^\/repos\/pkgforge\/(\w+)\/attestations\/sha256:([0-9a-f]+)$/.exec(req.url ?? '');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!m) return send(404, { message: 'Not Found' });
    if (m[1] === 'bincache' && m[2] === PUBLISHED)
      return send(200, { attestations: [{ bundle: forgedBundle(PUBLISHED), repository_id: 1 }] });
    if (m[1] === 'pkgcache' && m[2] === PUBLISHED)
      return send(200, { attestations: [{ bundle: forgedBundle(OTHER), repository_id: 2 }] });
    if (m[1] === 'broken') return send(500, {});
    return send(404, { message: 'Not Found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

describe("pkgforge's build provenance", () => {
  it('reads the workflow and commit from a SLSA v1 statement, and its subjects', () => {
    expect(workflowOf(statement(PUBLISHED))).toEqual({
      repository: 'https://github.com/pkgforge/bincache',
      path: '.github/workflows/matrix_builds.yaml',
      ref: 'refs/heads/main',
      commit: '338a3bae'.padEnd(40, '0'),
      runUrl: 'https://github.com/pkgforge/bincache/actions/runs/1/attempts/1',
    });
    expect(statementCovers(statement(PUBLISHED), PUBLISHED)).toBe(true);
    expect(statementCovers(statement(PUBLISHED), OTHER)).toBe(false);
  });

  it('asks GitHub per digest; a bundle whose certificate nobody issued fails verification', async () => {
    const f = await checkPkgforgeProvenance('bincache', PUBLISHED, { apiBase: api });
    expect(requests).toContain(`/repos/pkgforge/bincache/attestations/sha256:${PUBLISHED}`);
    expect(f.status).toBe('failed');
    expect(f.detail).toMatch(/does not verify/);
  });

  it('an attestation about other bytes fails, whatever its signature', async () => {
    const f = await checkPkgforgeProvenance('pkgcache', PUBLISHED, { apiBase: api });
    expect(f).toMatchObject({ status: 'failed' });
    expect(f.detail).toMatch(/other bytes/);
  });

  it('a verified bundle from a workflow outside pkgforge is not pkgforge provenance', async () => {
    const f = await checkPkgforgeProvenance('bincache', PUBLISHED, {
      apiBase: api,
      verifyBundle: async () => ({
        identity: 'https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main',
      }),
    });
    expect(f).toMatchObject({ status: 'failed' });
    expect(f.detail).toMatch(/not a pkgforge workflow/);
  });

  it('none published, an API error, or no network: not checked or none, never failed', async () => {
    expect((await checkPkgforgeProvenance('bincache', OTHER, { apiBase: api })).status).toBe('none');
    expect((await checkPkgforgeProvenance('broken', PUBLISHED, { apiBase: api })).status).toBe('not-checked');
    // a port nothing listens on
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const f = await checkPkgforgeProvenance('bincache', PUBLISHED, { apiBase: `http://127.0.0.1:${port}` });
    expect(f.status).toBe('not-checked');
    expect(f.detail).toMatch(/could not be reached/);
  });
});
