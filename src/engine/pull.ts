/**
 * Pulls an image pinned by digest (`repo@sha256:…`, as pkgforge/builds'
 * build.toml names its builder) through the engine, optionally from a
 * mirror (`--registry-mirror docker.io=http://127.0.0.1:5000`). The engine
 * checks the manifest against the digest; rebuild then checks the image
 * the engine reports carries that digest. rebuild's own locally
 * bootstrapped builder images are never substituted: the archive's bytes
 * depend on this exact image.
 */
import type Docker from 'dockerode';
import { messageOf, RebuildError } from '../util/errors.js';
import { parseImageName } from './image-names.js';
import { type Arch, PLATFORM } from './types.js';

export interface PulledImage {
  /** The reference as the recipe wrote it. */
  pinned: string;
  /** What the engine pulled (the mirror's host in place of the registry when mirrored). */
  pulledAs: string;
  digest: string;
  /** Image ID (`sha256:…`) to run. */
  id: string;
}

/** docker.io names without a namespace live under `library/`. */
function canonical(image: string): { registry: string; repository: string; digest: string } {
  const p = parseImageName(image);
  if (!p.digest || !/^sha256:[0-9a-f]{64}$/.test(p.digest))
    throw new RebuildError('input', `image "${image}" is not pinned by digest (@sha256:<64 hex>)`, {
      fix: 'pin the builder image by digest: a tag can point at different bytes tomorrow',
    });
  const registry = p.registry ?? 'docker.io';
  const repository =
    registry === 'docker.io' && !p.repository.includes('/') ? `library/${p.repository}` : p.repository;
  return { registry, repository, digest: p.digest };
}

/** The reference the engine should pull: the registry replaced by its mirror's host when one is given. */
export function pullReference(
  image: string,
  mirrors: Record<string, string> = {},
): { ref: string; digest: string } {
  const { registry, repository, digest } = canonical(image);
  const mirror = mirrors[registry];
  const host = mirror ? new URL(mirror).host : registry;
  return { ref: `${host}/${repository}@${digest}`, digest };
}

async function inspectId(docker: Docker, ref: string, digest: string): Promise<string | undefined> {
  try {
    const info = await docker.getImage(ref).inspect();
    const repoDigests: string[] = info.RepoDigests ?? [];
    return repoDigests.some((d) => d.endsWith(`@${digest}`)) ? info.Id : undefined;
  } catch {
    return undefined;
  }
}

export async function pullPinnedImage(
  docker: Docker,
  image: string,
  arch: Arch,
  mirrors: Record<string, string> = {},
  onProgress?: (line: string) => void,
): Promise<PulledImage> {
  const { ref, digest } = pullReference(image, mirrors);
  const platform = `${PLATFORM[arch].os}/${PLATFORM[arch].architecture}`;
  const notSubstitute =
    "rebuild's locally bootstrapped builder images are not a substitute: pkgforge/builds archives depend on this exact image";
  try {
    const stream = await docker.pull(ref, { platform });
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (err: Error | null) => (err ? reject(err) : resolve()),
        (e: { status?: string; id?: string; error?: string }) => {
          if (e.status) onProgress?.(`${e.id ? `${e.id}: ` : ''}${e.status}`);
        },
      );
    });
  } catch (err) {
    const local = await inspectId(docker, ref, digest);
    if (local) return { pinned: image, pulledAs: ref, digest, id: local };
    throw new RebuildError('environment', `cannot pull the pinned builder image ${ref}: ${messageOf(err)}`, {
      subject: image,
      fix: `${notSubstitute}; push it to a registry you can reach and pass --registry-mirror ${canonical(image).registry}=http://127.0.0.1:<port>`,
    });
  }
  const id = await inspectId(docker, ref, digest);
  if (!id)
    throw new RebuildError(
      'environment',
      `the engine pulled ${ref} but reports no image with digest ${digest}`,
      {
        subject: image,
        fix: notSubstitute,
      },
    );
  return { pinned: image, pulledAs: ref, digest, id };
}
