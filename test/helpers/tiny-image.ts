/**
 * A tiny builder image made offline: Debian's static busybox as /bin with
 * its applets, imported into the engine and pushed to the loopback
 * registry, so a build.toml can pin it by the digest the registry gives.
 */
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import tar from 'tar-stream';

const APPLETS = ['sh', 'cp', 'mkdir', 'printf', 'cat', 'chmod', 'echo', 'ls', 'rm', 'true'];

function rootfs(files: Record<string, string>): tar.Pack {
  const pack = tar.pack();
  const mtime = new Date(0);
  pack.entry({ name: 'bin/', type: 'directory', mode: 0o755, mtime });
  pack.entry({ name: 'bin/busybox', mode: 0o755, mtime }, readFileSync('/bin/busybox'));
  for (const a of APPLETS) pack.entry({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox', mtime });
  pack.entry({ name: 'tmp/', type: 'directory', mode: 0o1777, mtime });
  if (Object.keys(files).length > 0) {
    // Scripts that start `#!/usr/bin/env sh`, as pkgforge's builders write them.
    pack.entry({ name: 'usr/', type: 'directory', mode: 0o755, mtime });
    pack.entry({ name: 'usr/bin/', type: 'directory', mode: 0o755, mtime });
    pack.entry({ name: 'usr/bin/env', type: 'symlink', linkname: '/bin/busybox', mtime });
    for (const [name, text] of Object.entries(files)) pack.entry({ name, mode: 0o644, mtime }, text);
  }
  pack.finalize();
  return pack;
}

/**
 * Imports the image as `<registryHost>/<repository>:<tag>` (`docker import`),
 * pushes it, and removes the local copy (so the build must pull it by
 * digest). Returns the manifest digest the registry gave.
 */
export async function pushTinyImage(
  registryHost: string,
  repository: string,
  tag: string,
  /** Extra files (path → text); with any, also `/usr/bin/env`. */
  files: Record<string, string> = {},
): Promise<string> {
  const ref = `${registryHost}/${repository}:${tag}`;
  await execa('docker', ['import', '--change', 'ENV PATH=/bin', '-', ref], {
    input: await streamToBuffer(rootfs(files)),
  });
  const push = await execa('docker', ['push', ref]);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
  if (!digest) throw new Error(`push of ${ref} reported no digest:\n${push.stdout}`);
  await execa('docker', ['image', 'rm', ref]);
  return digest;
}

async function streamToBuffer(s: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
