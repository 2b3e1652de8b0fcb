import { readFile } from 'node:fs/promises';
import type { Arch } from '../../engine/types.js';
import { resolvePackage } from '../../upstream/metadata.js';
import { OciClient, TITLE } from '../../upstream/oci.js';
import { fetchPublished, findMainLayer } from '../../upstream/published.js';
import type { PackageRecord } from '../../upstream/types.js';
import { RebuildError } from '../../util/errors.js';
import { type UpstreamFlags, upstreamFromFlags } from '../upstream-options.js';

/** One file of record of a published package, as `soar inspect` / `soar log` show it. */
export interface PublishedText {
  record: PackageRecord;
  reference: string;
  manifestDigest: string;
  name: string;
  /** `sha256:<hex>`, verified while it was downloaded. */
  digest: string;
  size: number;
  text: string;
}

/**
 * Resolves the package and fetches one of its files of record: `SBUILD`
 * (the recipe as built), or the main program's `.log` (`which: 'log'`).
 */
export async function fetchPublishedText(
  query: string,
  arch: Arch,
  flags: UpstreamFlags,
  which: 'recipe' | 'log',
): Promise<PublishedText> {
  const { metadata, registry } = upstreamFromFlags(flags);
  const record = await resolvePackage(query, arch, metadata);
  const client = new OciClient(registry);
  const m = await client.getManifest(record.ghcrPkg, record.arch);
  const layers = m.manifest.layers.flatMap((l) => {
    const name = l.annotations?.[TITLE];
    return name ? [{ name, digest: l.digest }] : [];
  });
  let name = 'SBUILD';
  if (which === 'log') {
    const main = findMainLayer(record, layers);
    const candidates = [main ? `${main.name}.log` : undefined, `${record.pkgName}.log`, `${record.pkg}.log`];
    const hit = candidates.find((c) => c && layers.some((l) => l.name === c));
    name = hit ?? layers.find((l) => l.name.endsWith('.log'))?.name ?? '';
  }
  if (!name || !layers.some((l) => l.name === name)) {
    throw new RebuildError(
      'upstream',
      `the published artifact has no ${which === 'log' ? 'build log' : 'SBUILD recipe'}`,
      {
        subject: `${record.pkg} ${record.version} (${record.repo}, ${arch})`,
        fix: `it has: ${layers.map((l) => l.name).join(', ') || 'no titled files'}${which === 'log' && record.buildLog ? `; pkgforge's metadata names ${record.buildLog}` : ''}`,
      },
    );
  }
  const a = await fetchPublished(record, { ...registry, client, files: [name] });
  const f = a.files[name];
  if (!f)
    throw new RebuildError('upstream', `${name} was not fetched`, { subject: a.reference, fix: 'run again' });
  return {
    record,
    reference: a.reference,
    manifestDigest: a.manifestDigest,
    name,
    digest: f.digest,
    size: f.size,
    text: await readFile(f.path, 'utf8'),
  };
}
