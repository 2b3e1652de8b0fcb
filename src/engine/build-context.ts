import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { RebuildError } from '../util/errors.js';

/** One regular file of a build context, read into memory (contexts are small). */
export interface ContextFile {
  /** Path inside the context, `/`-separated (`Dockerfile`, `runners/docker-shim`). */
  path: string;
  /** 0o755 if the owner may execute it, else 0o644: nothing else reaches the image. */
  mode: number;
  bytes: Buffer;
}

/** Regular files under `dir`, recursively, as context entries under `prefix/`. Symlinks are refused. */
export async function collectDir(dir: string, prefix: string): Promise<ContextFile[]> {
  const out: ContextFile[] = [];
  async function walk(d: string): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(d)).sort();
    } catch (err) {
      throw new RebuildError('environment', `cannot read the build context directory`, {
        subject: d,
        fix: 'run rebuild from its installed tree (the runners/ and dockerfiles/ folders ship with it)',
        cause: err,
      });
    }
    for (const name of names) {
      const p = join(d, name);
      const st = await lstat(p);
      if (st.isDirectory()) await walk(p);
      else if (st.isFile()) {
        const rel = relative(dir, p).split(sep).join('/');
        out.push({
          path: `${prefix}/${rel}`,
          mode: st.mode & 0o100 ? 0o755 : 0o644,
          bytes: await readFile(p),
        });
      } else {
        throw new RebuildError('input', 'build context holds something other than files and folders', {
          subject: p,
          fix: 'replace the link or special file by a regular file',
        });
      }
    }
  }
  await walk(dir);
  return out;
}

function sorted(files: ContextFile[]): ContextFile[] {
  return [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** SHA-256 over paths, modes and contents, in path order: the context's part of an inputs hash. */
export function contextHash(files: ContextFile[]): string {
  const h = createHash('sha256');
  for (const f of sorted(files)) {
    const digest = createHash('sha256').update(f.bytes).digest('hex');
    h.update(`${f.path}\0${f.mode.toString(8)}\0${digest}\n`);
  }
  return h.digest('hex');
}

/**
 * The build context as a tar stream: path order, mtime 0, owner root, so the
 * same inputs always give the same bytes (and the same layer for COPY).
 * tar-stream is loaded here, when an image is built, not on every start-up.
 */
export async function contextTar(files: ContextFile[]): Promise<Readable> {
  const { default: tar } = await import('tar-stream');
  const pack = tar.pack();
  const dirs = new Set<string>();
  for (const f of sorted(files)) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (dirs.has(d)) continue;
      dirs.add(d);
      pack.entry({ name: `${d}/`, type: 'directory', mode: 0o755, mtime: new Date(0), uid: 0, gid: 0 });
    }
    pack.entry(
      { name: f.path, mode: f.mode, mtime: new Date(0), uid: 0, gid: 0, size: f.bytes.length },
      f.bytes,
    );
  }
  pack.finalize();
  // tar-stream packs are streamx streams; the engine client wants a Node stream.
  return Readable.from(pack);
}
