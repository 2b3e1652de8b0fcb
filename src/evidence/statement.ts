/**
 * The signed statement of one verification: an in-toto Statement v1 whose
 * subject is the published file and whose predicate says what rebuild found.
 *
 * The predicate follows SLSA Provenance v1's layout (buildDefinition /
 * runDetails), as OSS Rebuild's Rebuild@v0.1 and ArtifactEquivalence@v0.1
 * attestations do, and adds the verdict itself: not only "we rebuilt it" but
 * "the published bytes equal the rebuilt ones, or differ exactly here, for
 * these proven reasons". Pure.
 */
import type { VerifyResult } from '../verify/types.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/** rebuild's own predicate type (SLSA-provenance-shaped, with a verdict). */
export const PREDICATE_TYPE = 'https://rebuild.invalid/attestation/verification/v1';
export const BUILD_TYPE = 'https://rebuild.invalid/attestation/verification/v1#pkgforge-rebuild';

export interface DigestSet {
  sha256: string;
  blake3?: string;
  [alg: string]: string | undefined;
}

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: DigestSet | Record<string, string>;
  annotations?: Record<string, unknown>;
}

export interface VerificationPredicate {
  buildDefinition: {
    buildType: string;
    /** What the user asked for: the package, arch and where its metadata came from. */
    externalParameters: {
      query: string;
      arch: string;
      package: VerifyResult['package'];
      metadata: VerifyResult['inputs']['metadata'];
    };
    /** What rebuild pinned to run the recipe of record again. */
    internalParameters: {
      pins: VerifyResult['inputs']['pins'];
      network: VerifyResult['inputs']['network'];
      emulator?: string;
      limits?: unknown;
      postProcessing?: unknown;
      notes: string[];
    };
    resolvedDependencies: ResourceDescriptor[];
  };
  runDetails: {
    builder: { id: string; version: Record<string, string> };
    metadata: { startedOn: string; finishedOn: string };
    byproducts: ResourceDescriptor[];
  };
  verification: {
    verdict: VerifyResult['verdict'];
    summary: string;
    published: VerifyResult['published'];
    rebuilt?: VerifyResult['rebuilt'];
    explanations: VerifyResult['explanations'];
    differences: VerifyResult['differences'];
    error?: VerifyResult['error'];
    /** sha256 of the result.json this statement was made from, as written. */
    resultDigest: { sha256: string };
  };
}

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: ResourceDescriptor[];
  predicateType: typeof PREDICATE_TYPE;
  predicate: VerificationPredicate;
}

function hex(digest: string | undefined): string | undefined {
  if (!digest) return undefined;
  return digest.startsWith('sha256:') ? digest.slice('sha256:'.length) : digest;
}

/** The statement for one result, given the sha256 of its result.json bytes. */
export function statementFor(result: VerifyResult, resultSha256: string): Statement {
  const inputs = result.inputs;
  const deps: ResourceDescriptor[] = [];
  if (inputs.manifestDigest) {
    deps.push({
      name: 'artifact of record',
      uri: `oci://${inputs.record.ghcrPkg}`,
      digest: { sha256: hex(inputs.manifestDigest) ?? '' },
    });
  }
  if (inputs.recipe.digest) {
    deps.push({
      name: 'recipe of record',
      uri: inputs.recipe.path,
      digest: { sha256: hex(inputs.recipe.digest) ?? '' },
    });
  }
  const image = inputs.pins.image;
  if (image.id) {
    deps.push({
      name: 'builder image',
      uri: image.tag,
      digest: { sha256: hex(image.id) ?? '' },
      annotations: { asWritten: image.asWritten ?? '', reason: image.reason },
    });
  }
  for (const inner of inputs.innerImages ?? []) {
    if (inner.id && inner.id !== image.id)
      deps.push({ name: 'inner builder image', uri: inner.tag, digest: { sha256: hex(inner.id) ?? '' } });
  }
  if (inputs.runImage?.id)
    deps.push({
      name: 'run image',
      uri: inputs.runImage.tag,
      digest: { sha256: hex(inputs.runImage.id) ?? '' },
    });
  for (const [name, digest] of Object.entries(inputs.files ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    deps.push({ name: `file of record: ${name}`, digest: { sha256: hex(digest) ?? '' } });
  }
  const byproducts: ResourceDescriptor[] = [];
  if (result.rebuilt) {
    byproducts.push({
      name: `rebuilt ${result.rebuilt.name}`,
      digest: { sha256: result.rebuilt.sha256, blake3: result.rebuilt.blake3 },
      annotations: { size: result.rebuilt.size },
    });
  }
  const finished = new Date(Date.parse(result.startedAt) + result.durationMs);
  return {
    _type: STATEMENT_TYPE,
    subject: [
      {
        name: result.published.name,
        digest: { sha256: result.published.sha256, blake3: result.published.blake3 },
      },
    ],
    predicateType: PREDICATE_TYPE,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          query: inputs.query,
          arch: inputs.arch,
          package: result.package,
          metadata: inputs.metadata,
        },
        internalParameters: {
          pins: inputs.pins,
          network: inputs.network,
          ...(inputs.emulator ? { emulator: inputs.emulator } : {}),
          ...(result.build?.inputs.limits ? { limits: result.build.inputs.limits } : {}),
          ...(result.build?.postProcessing ? { postProcessing: result.build.postProcessing } : {}),
          notes: inputs.notes ?? [],
        },
        resolvedDependencies: deps,
      },
      runDetails: {
        builder: {
          id: 'https://rebuild.invalid/rebuild',
          version: { rebuild: inputs.rebuildVersion ?? 'unknown' },
        },
        metadata: {
          startedOn: result.startedAt,
          finishedOn: Number.isNaN(finished.getTime()) ? result.startedAt : finished.toISOString(),
        },
        byproducts,
      },
      verification: {
        verdict: result.verdict,
        summary: result.summary,
        published: result.published,
        ...(result.rebuilt ? { rebuilt: result.rebuilt } : {}),
        explanations: result.explanations,
        differences: result.differences,
        ...(result.error ? { error: result.error } : {}),
        resultDigest: { sha256: resultSha256 },
      },
    },
  };
}

/** A parsed payload that claims to be one of our statements: checked shape, pure. */
export function asStatement(value: unknown): Statement | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Partial<Statement>;
  if (v._type !== STATEMENT_TYPE || v.predicateType !== PREDICATE_TYPE) return undefined;
  if (!Array.isArray(v.subject) || v.subject.length === 0) return undefined;
  const verification = v.predicate?.verification;
  if (!verification || typeof verification.verdict !== 'string' || !verification.resultDigest?.sha256)
    return undefined;
  return v as Statement;
}
