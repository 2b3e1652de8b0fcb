/**
 * Applies a soarpkgs `[source.install]` map to a verified artifact, so the
 * files judged are the files soar installs. The artifact is untrusted bytes:
 * tar archives are unpacked by the bounded extractor (no `..`, absolute
 * names, links out, devices; sizes and entry counts bounded), and an
 * installed file is taken only when it is a regular file reached without
 * following a symlink.
 */
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { type ExtractLimits, extractTarSafely } from '../engine/safe-extract.js';
import { type Digests, hashFile } from '../hash/digest.js';
import type { InstallMapping } from '../recipe/toml/soarpkgs.js';
import { regularFileInside } from '../util/inside.js';

export type ArtifactFormat = 'tar.gz' | 'tar' | 'tar.xz' | 'tar.zst' | 'tar.bz2' | 'zip' | 'file';

/** The artifact's format, from its magic bytes (never from the URL alone). */
export function detectFormat(head: Buffer): ArtifactFormat {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'tar.xz';
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'tar.zst';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'tar.bz2';
  if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) return 'zip';
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  return 'file';
}

export interface InstalledFile extends Digests {
  to: string;
  source: string;
  alias: string[];
}

export interface InstallOutcome {
  format: ArtifactFormat;
  installed: InstalledFile[];
  /** Why the map could not be applied (a format rebuild does not unpack on the host). */
  notApplied?: string;
}

/** Bounds for unpacking an artifact: far above any real package, far below a bomb. */
export const INSTALL_EXTRACT_LIMITS: ExtractLimits = {
  maxBytes: 8 * 1024 ** 3,
  maxFileBytes: 4 * 1024 ** 3,
  maxEntries: 100_000,
};

/**
 * Extracts what `mappings` name from `artifact` into `installDir/<to>` and
 * hashes each. An empty map installs the artifact itself.
 */
export async function applyInstallMap(
  artifact: string,
  mappings: readonly InstallMapping[],
  installDir: string,
  workDir: string,
  subject: string,
): Promise<InstallOutcome> {
  const fh = await open(artifact, 'r');
  const head = Buffer.alloc(512);
  await fh.read(head, 0, 512, 0);
  await fh.close();
  const format = detectFormat(head);
  const wholeFile = mappings.length === 0 || mappings.every((m) => m.source === '');
  await mkdir(installDir, { recursive: true });
  const installed: InstalledFile[] = [];
  const put = async (from: string, m: InstallMapping) => {
    const to = join(installDir, m.to);
    await mkdir(dirname(to), { recursive: true });
    await copyFile(from, to);
    installed.push({ to: m.to, source: m.source, alias: m.alias, ...(await hashFile(to)) });
  };
  if (wholeFile) {
    const list = mappings.length > 0 ? mappings : [{ source: '', to: 'artifact', alias: [] }];
    for (const m of list) await put(artifact, m);
    return { format, installed };
  }
  if (format !== 'tar.gz' && format !== 'tar')
    return {
      format,
      installed,
      notApplied: `a ${format} artifact is not unpacked on the host; its install map (${mappings.length} file(s)) was not applied, so the installed files were not judged one by one`,
    };
  const unpacked = join(workDir, 'unpacked');
  await rm(unpacked, { recursive: true, force: true });
  try {
    const input = createReadStream(artifact);
    const stream = format === 'tar.gz' ? input.pipe(createGunzip()) : input;
    if (format === 'tar.gz') input.on('error', (e) => stream.destroy(e));
    await extractTarSafely(stream, unpacked, { limits: INSTALL_EXTRACT_LIMITS, subject });
    for (const m of mappings) {
      if (m.source === '') await put(artifact, m);
      else
        await put(
          await regularFileInside(unpacked, m.source, {
            subject,
            missing: 'the pinned artifact does not contain what [source.install] maps',
          }),
          m,
        );
    }
  } finally {
    await rm(unpacked, { recursive: true, force: true });
  }
  return { format, installed };
}
