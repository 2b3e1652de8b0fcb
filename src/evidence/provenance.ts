/**
 * pkgforge's own build-provenance attestations as evidence.
 *
 * pkgforge's CI attests every published file with actions/attest-build-provenance
 * (a Sigstore bundle holding an in-toto statement with a SLSA Provenance v1
 * predicate: the workflow, the bincache/soarpkgs commit, the run). GitHub
 * serves them per digest: GET {api}/repos/pkgforge/{repo}/attestations/sha256:{hex}.
 * rebuild fetches them for the published digest, verifies each with the
 * Sigstore public-good trusted root (the sigstore-js libraries; the live root
 * through TUF, or the one @sigstore/tuf ships when TUF is unreachable), checks
 * the signer is a pkgforge workflow, and records what the statement names. Unreachable is `not-checked`, never `failed`: only a bundle that was
 * obtained and does not verify, or is about other bytes, fails.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { messageOf } from '../util/errors.js';

export const GITHUB_API = 'https://api.github.com';
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export type ProvenanceStatus = 'verified' | 'failed' | 'not-checked' | 'none';

export interface ProvenanceFinding {
  status: ProvenanceStatus;
  /** One sentence for people. */
  detail: string;
  /** Where it was asked. */
  url?: string;
  /** From the verified statement: the workflow and the commit of the CI repository it ran. */
  workflow?: { repository?: string; path?: string; ref?: string; commit?: string; runUrl?: string };
  /** The signing identity (the workflow's certificate SAN) when verified. */
  identity?: string;
  /** Which Sigstore trusted root the bundle was verified against. */
  trustRoot?: string;
}

/** The parts of a SLSA Provenance v1 statement (as GitHub writes it) that say where it was built. Pure. */
export function workflowOf(statement: unknown): ProvenanceFinding['workflow'] {
  const s = statement as {
    predicate?: {
      buildDefinition?: {
        externalParameters?: { workflow?: { repository?: string; path?: string; ref?: string } };
        resolvedDependencies?: { uri?: string; digest?: Record<string, string> }[];
      };
      runDetails?: { metadata?: { invocationId?: string } };
    };
  };
  const wf = s.predicate?.buildDefinition?.externalParameters?.workflow;
  const dep = s.predicate?.buildDefinition?.resolvedDependencies?.[0];
  return {
    ...(wf?.repository ? { repository: wf.repository } : {}),
    ...(wf?.path ? { path: wf.path } : {}),
    ...(wf?.ref ? { ref: wf.ref } : {}),
    ...(dep?.digest?.gitCommit ? { commit: dep.digest.gitCommit } : {}),
    ...(s.predicate?.runDetails?.metadata?.invocationId
      ? { runUrl: s.predicate.runDetails.metadata.invocationId }
      : {}),
  };
}

/** Whether an in-toto statement names a subject with this sha256. Pure. */
export function statementCovers(statement: unknown, sha256: string): boolean {
  const subjects = (statement as { subject?: { digest?: Record<string, string> }[] })?.subject;
  return (
    Array.isArray(subjects) && subjects.some((s) => s?.digest?.sha256?.toLowerCase() === sha256.toLowerCase())
  );
}

export interface ProvenanceOptions {
  apiBase?: string;
  /** GitHub's API wants a token for higher rate limits; never printed or recorded. */
  token?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** How a bundle is verified (default: the `sigstore` library, public-good trust root). */
  verifyBundle?: (bundle: unknown) => Promise<{ identity?: string; trustRoot?: string }>;
}

/** The Sigstore public-good trusted root shipped in @sigstore/tuf's TUF seed (used when TUF is unreachable). */
async function embeddedTrustedRoot(): Promise<unknown> {
  const { createRequire } = await import('node:module');
  const seeds = createRequire(import.meta.url)('@sigstore/tuf/seeds.json') as Record<
    string,
    { targets?: Record<string, string> }
  >;
  const target = Object.values(seeds)[0]?.targets?.['trusted_root.json'];
  if (!target) throw new Error('no trusted root in the embedded TUF seed');
  return JSON.parse(Buffer.from(target, 'base64').toString('utf8'));
}

/**
 * Verifies a Sigstore bundle issued to a GitHub Actions workflow: the live
 * trusted root through TUF when it can be reached, otherwise the one the
 * library ships. Returns the signer's identity (the workflow URI).
 */
async function sigstoreVerify(
  bundle: unknown,
  online: boolean,
): Promise<{ identity?: string; trustRoot: string }> {
  const { bundleFromJSON } = await import('@sigstore/bundle');
  const { Verifier, toSignedEntity, toTrustMaterial } = await import('@sigstore/verify');
  const { TrustedRoot } = await import('@sigstore/protobuf-specs');
  const { getTrustedRoot } = await import('@sigstore/tuf');
  const cache = await mkdtemp(join(tmpdir(), 'rebuild-tuf-'));
  let root: unknown;
  let trustRoot = 'Sigstore public-good trusted root via TUF';
  try {
    if (!online) throw new Error('offline');
    root = await getTrustedRoot({ cachePath: cache, retry: 0, timeout: 5_000 });
  } catch {
    root = TrustedRoot.fromJSON(await embeddedTrustedRoot());
    trustRoot = `Sigstore public-good trusted root as shipped with @sigstore/tuf (${online ? 'TUF unreachable' : 'TUF not asked: the API is not GitHub'})`;
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
  const verifier = new Verifier(toTrustMaterial(root as Parameters<typeof toTrustMaterial>[0]));
  const signer = verifier.verify(toSignedEntity(bundleFromJSON(bundle)), {
    extensions: { issuer: 'https://token.actions.githubusercontent.com' },
  });
  const identity = signer.identity?.subjectAlternativeName;
  return identity ? { identity, trustRoot } : { trustRoot };
}

async function readBounded(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw new Error(`the response is larger than ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Asks GitHub for pkgforge's attestations of one published digest and judges them. */
export async function checkPkgforgeProvenance(
  repo: string,
  sha256: string,
  opts: ProvenanceOptions = {},
): Promise<ProvenanceFinding> {
  const base = (opts.apiBase ?? GITHUB_API).replace(/\/+$/, '');
  const url = `${base}/repos/pkgforge/${encodeURIComponent(repo)}/attestations/sha256:${sha256}`;
  let body: string;
  try {
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? 10_000);
    const res = await fetch(url, {
      headers: {
        accept: 'application/vnd.github+json',
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      },
      signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout,
      redirect: 'error',
    });
    if (res.status === 404) {
      await res.body?.cancel();
      return {
        status: 'none',
        url,
        detail: `pkgforge/${repo} has no attestation for sha256 ${sha256.slice(0, 16)}…`,
      };
    }
    if (!res.ok) {
      await res.body?.cancel();
      return { status: 'not-checked', url, detail: `the attestations API answered HTTP ${res.status}` };
    }
    body = await readBounded(res);
  } catch (err) {
    return {
      status: 'not-checked',
      url,
      detail: `the attestations API could not be reached (${messageOf(err)})`,
    };
  }
  let list: unknown[];
  try {
    const parsed = JSON.parse(body) as { attestations?: unknown[] };
    list = Array.isArray(parsed.attestations) ? parsed.attestations : [];
  } catch {
    return { status: 'not-checked', url, detail: 'the attestations API answered something that is not JSON' };
  }
  if (list.length === 0)
    return { status: 'none', url, detail: 'the attestations API lists none for this digest' };
  // The TUF mirror is asked only when GitHub itself is: a mirrored or loopback API never reaches out.
  const online = base === GITHUB_API;
  const verifyBundle = opts.verifyBundle ?? ((b: unknown) => sigstoreVerify(b, online));
  const failures: string[] = [];
  for (const item of list) {
    const bundle = (item as { bundle?: unknown })?.bundle;
    const payload = (bundle as { dsseEnvelope?: { payload?: string } })?.dsseEnvelope?.payload;
    if (typeof payload !== 'string') {
      failures.push('an attestation without a DSSE envelope');
      continue;
    }
    let statement: unknown;
    try {
      statement = JSON.parse(Buffer.from(payload, 'base64').toString('utf8'));
    } catch {
      failures.push('an attestation whose statement is not JSON');
      continue;
    }
    if (!statementCovers(statement, sha256)) {
      failures.push(
        'an attestation about other bytes (its subject digests do not include the published sha256)',
      );
      continue;
    }
    let identity: string | undefined;
    let trustRoot: string | undefined;
    try {
      ({ identity, trustRoot } = await verifyBundle(bundle));
    } catch (err) {
      failures.push(`a bundle that does not verify (${messageOf(err)})`);
      continue;
    }
    // Signed by GitHub Actions is not enough: it must be a pkgforge workflow.
    if (!identity?.startsWith('https://github.com/pkgforge/')) {
      failures.push(`a bundle signed by ${identity ?? 'an unnamed identity'}, not a pkgforge workflow`);
      continue;
    }
    const workflow = workflowOf(statement);
    return {
      status: 'verified',
      url,
      detail: `pkgforge's build provenance verifies${workflow?.repository ? `: built by ${workflow.repository}/${workflow.path ?? ''}` : ''}${workflow?.commit ? ` at ${workflow.commit.slice(0, 12)}` : ''}`,
      workflow,
      identity,
      ...(trustRoot ? { trustRoot } : {}),
    };
  }
  return { status: 'failed', url, detail: `pkgforge's attestation does not hold: ${failures.join('; ')}` };
}
