/**
 * Unpacking hostile archives and AppImages: the unpacker runs in a container
 * (network none, memory/pids/time limits, a size-limited tmpfs, the artifact
 * mounted read-only), and writes one tar stream of the members on stdout.
 * The host keeps that stream as an opaque file, bounded in size, and reads it
 * only with the safe extraction (safe-extract.ts). The host never runs an
 * unpacker on the artifact's bytes.
 */
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { RebuildError } from '../util/errors.js';
import { runContainer } from './container.js';
import { connectEngine } from './docker.js';
import { defaultAssetsDir, ensureUnpackImage } from './images.js';
import { hostArch } from './types.js';

/** What the container can unpack (the artifact kinds rebuild descends into). */
export type UnpackKind = 'appimage' | 'tar' | 'tar.gz' | 'tar.xz' | 'tar.zst' | 'zip';

export interface UnpackBounds {
  /** Bytes of the member stream (the uncompressed members and their headers). */
  maxBytes: number;
  /** Wall-clock limit of one unpack, in milliseconds. */
  timeoutMs: number;
}

export interface UnpackRequest {
  file: string;
  kind: UnpackKind;
  /** AppImage: offset of the SquashFS image. */
  offset?: number;
  /** A private directory the stream and the copy of the artifact go into. */
  workDir: string;
  bounds: UnpackBounds;
}

export interface UnpackOutcome {
  /** The member stream (a tar), on the host, unopened. */
  stream: string;
  bytes: number;
}

/** Unpacks artifacts; the container one is the real one, tests may use it directly. */
export interface Unpacker {
  unpack(req: UnpackRequest): Promise<UnpackOutcome>;
}

/** Container unpacker on an engine; the image is ensured once, on first use. */
export class ContainerUnpacker implements Unpacker {
  private image: Promise<string> | undefined;
  private script: Promise<string> | undefined;

  constructor(
    private readonly docker?: Docker,
    private readonly onProgress?: (line: string) => void,
  ) {}

  private async engine(): Promise<Docker> {
    return this.docker ?? connectEngine();
  }

  async unpack(req: UnpackRequest): Promise<UnpackOutcome> {
    const docker = await this.engine();
    this.image ??= ensureUnpackImage(docker, this.onProgress ? { onProgress: this.onProgress } : {}).then(
      (i) => i.tag,
    );
    this.script ??= readFile(join(defaultAssetsDir(), 'runners', 'unpack.sh'), 'utf8');
    const [image, script] = await Promise.all([this.image, this.script]);
    // A private copy: the bytes unpacked are the bytes hashed, whatever happens to the original,
    // and the bind mount never sees a caller's path (a `:` or `,` in it would change its meaning).
    const inDir = join(req.workDir, 'in');
    await mkdir(inDir, { recursive: true });
    await copyFile(req.file, join(inDir, 'artifact'));
    const stream = join(req.workDir, 'members.tar');
    const out = createWriteStream(stream, { flags: 'wx', mode: 0o600 });
    let bytes = 0;
    let tooBig = false;
    const stderr: Buffer[] = [];
    let stderrBytes = 0;
    const abort = new AbortController();
    const max = req.bounds.maxBytes;
    let outcome: Awaited<ReturnType<typeof runContainer>> | undefined;
    try {
      outcome = await runContainer(docker, {
        image,
        arch: hostArch(),
        cmd: ['bash', '-c', script, 'unpack.sh', req.kind, String(req.offset ?? 0), String(max)],
        mounts: [{ host: inDir, container: '/in', readOnly: true }],
        tmpfs: { '/work': `rw,noexec,nosuid,nodev,size=${max}` },
        // It only reads the artifact and writes its tmpfs: a hostile archive cannot change the image's root.
        readOnlyRoot: true,
        network: 'none',
        limits: {
          memoryBytes: max + 512 * 1024 ** 2,
          pids: 64,
          timeoutMs: req.bounds.timeoutMs,
        },
        signal: abort.signal,
        onOutput: (chunk, which) => {
          if (which === 'stderr') {
            if (stderrBytes < 64 * 1024) stderr.push(chunk);
            stderrBytes += chunk.length;
            return;
          }
          bytes += chunk.length;
          if (bytes > max) {
            tooBig = true;
            abort.abort();
            return;
          }
          out.write(chunk);
        },
      });
    } catch (err) {
      if (!tooBig) throw err;
    } finally {
      await new Promise<void>((resolve) => out.end(resolve));
    }
    const subject = req.file;
    if (tooBig || bytes > max) {
      throw new RebuildError(
        'input',
        `refused: unpacking yields more than ${max} bytes (a decompression bomb?)`,
        {
          subject,
          fix: 'raise the bound with --max-unpacked-bytes if the artifact is genuinely this large',
        },
      );
    }
    if (outcome?.timedOut) {
      throw new RebuildError(
        'input',
        `refused: unpacking took longer than ${req.bounds.timeoutMs / 1000} s`,
        {
          subject,
        },
      );
    }
    if (outcome && outcome.exitCode !== 0) {
      const tail = Buffer.concat(stderr).toString('utf8').trim().split('\n').slice(-8).join('\n');
      throw new RebuildError('input', `cannot unpack the ${req.kind} (exit ${outcome.exitCode}): ${tail}`, {
        subject,
        fix: 'the archive is corrupt, truncated, or holds entries rebuild refuses (device nodes, an oversized tree)',
      });
    }
    return { stream, bytes };
  }
}
