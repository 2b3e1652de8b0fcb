import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { RebuildError } from '../util/errors.js';
import { type Descriptor, MEDIA, OciClient, TITLE } from './oci.js';
import type { ImageReference } from './reference.js';
import type { RegistryOptions } from './types.js';

/** One file to publish as its own layer: from disk (`path`) or memory (`bytes`). */
export interface PushFile {
  name: string;
  path?: string;
  bytes?: Uint8Array;
  mediaType?: string;
}

export interface PushResult {
  manifestDigest: string;
  manifest: { layers: Descriptor[] } & Record<string, unknown>;
  /** Layer descriptors, in the order of `files`. */
  layers: Array<{ name: string; digest: string; size: number; mediaType: string }>;
}

/** Layer media type pkgforge uses for every file (oras default for files). */
export const PKGFORGE_LAYER_MEDIA = 'application/octet-stream';
export const PKGFORGE_ARTIFACT_TYPE = 'application/vnd.pkgforge.soar.package';
const EMPTY = Buffer.from('{}');

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function ok(res: Response, what: string, expect: number[]): Promise<Response> {
  if (!expect.includes(res.status)) {
    const body = await res.text().catch(() => '');
    throw new RebuildError('upstream', `${what}: HTTP ${res.status} ${body.slice(0, 300)}`);
  }
  return res;
}

/** Uploads one blob (POST an upload, PUT it with its digest) unless the registry has it. */
export async function pushBlob(
  client: OciClient,
  ref: Pick<ImageReference, 'host' | 'name'>,
  bytes: Uint8Array,
): Promise<string> {
  const digest = sha256(bytes);
  const head = await client.request(ref, `blobs/${digest}`, { method: 'HEAD', actions: 'pull,push' });
  await head.body?.cancel().catch(() => {});
  if (head.status === 200) return digest;
  const start = await ok(
    await client.request(ref, 'blobs/uploads/', { method: 'POST', actions: 'pull,push' }),
    `start upload to ${ref.name}`,
    [202],
  );
  await start.body?.cancel().catch(() => {});
  const location = start.headers.get('location');
  if (!location) throw new RebuildError('upstream', `upload to ${ref.name}: no Location header`);
  const url = new URL(location, `${client.baseUrl(ref.host)}/`);
  url.searchParams.set('digest', digest);
  const put = await ok(
    await client.requestUrl(ref, url.toString(), {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.byteLength) },
      body: bytes,
      actions: 'pull,push',
    }),
    `upload ${digest} to ${ref.name}`,
    [201, 204],
  );
  await put.body?.cancel().catch(() => {});
  return digest;
}

/**
 * Publishes files the way pkgforge does: one layer per file, titled by its
 * name (`org.opencontainers.image.title`), under an OCI image manifest with
 * an empty config and an artifact type, tagged `tag`.
 */
export async function pushArtifact(
  registry: RegistryOptions | OciClient,
  ref: Pick<ImageReference, 'host' | 'name'> & { tag: string },
  files: PushFile[],
  annotations: Record<string, string> = {},
): Promise<PushResult> {
  const client = registry instanceof OciClient ? registry : new OciClient(registry);
  const layers: PushResult['layers'] = [];
  for (const f of files) {
    const bytes = f.bytes ?? (f.path ? await readFile(f.path) : undefined);
    if (!bytes) throw new RebuildError('usage', `file ${f.name}: give path or bytes`);
    const digest = await pushBlob(client, ref, bytes);
    layers.push({
      name: f.name || basename(f.path ?? ''),
      digest,
      size: bytes.byteLength,
      mediaType: f.mediaType ?? PKGFORGE_LAYER_MEDIA,
    });
  }
  const configDigest = await pushBlob(client, ref, EMPTY);
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    artifactType: PKGFORGE_ARTIFACT_TYPE,
    config: { mediaType: MEDIA.ociEmpty, digest: configDigest, size: EMPTY.byteLength },
    layers: layers.map((l) => ({
      mediaType: l.mediaType,
      digest: l.digest,
      size: l.size,
      annotations: { [TITLE]: l.name },
    })),
    annotations,
  };
  const body = Buffer.from(JSON.stringify(manifest));
  const res = await ok(
    await client.request(ref, `manifests/${ref.tag}`, {
      method: 'PUT',
      headers: { 'content-type': MEDIA.ociManifest },
      body,
      actions: 'pull,push',
    }),
    `put manifest ${ref.name}:${ref.tag}`,
    [201],
  );
  await res.body?.cancel().catch(() => {});
  return { manifestDigest: sha256(body), manifest, layers };
}
