import { createServer } from 'node:net';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

/**
 * dockerode's BuildKit session (gRPC) and docker-modem's SSH transport load on
 * first use rather than with dockerode. Checked in a fresh Node process (this
 * one may have loaded them already): not loaded by connecting the client, and
 * the real module doing the work once used.
 */
const script = (body: string) => `
import { createRequire } from 'node:module';
const { engineClient } = await import(${JSON.stringify(new URL('../../src/engine/docker.ts', import.meta.url).href)});
const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((k) => /@grpc|ssh2/.test(k)).map((k) => k.includes('ssh2') ? 'ssh2' : 'grpc');
const before = [...new Set(loaded())];
let error = '';
try { ${body} } catch (err) { error = String(err && err.code || err); }
console.log(JSON.stringify({ before, after: [...new Set(loaded())].sort(), error }));
`;

async function run(body: string): Promise<{ before: string[]; after: string[]; error: string }> {
  const { stdout } = await execa('node', ['--import', 'tsx', '--input-type=module', '-e', script(body)], {
    env: { ...process.env, DOCKER_HOST: undefined },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

describe('the engine client loads what a run does not use only when it is used', () => {
  it('connects over SSH through the real ssh2 transport, loaded on that first use', async () => {
    // A loopback port that accepts and closes: the SSH handshake fails in ssh2 itself.
    const server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await run(
        `await new (engineClient())({ protocol: 'ssh', host: '127.0.0.1', port: ${port}, username: 'nobody' }).ping();`,
      );
      expect(r.before).toEqual([]);
      expect(r.after).toContain('ssh2');
      expect(r.error).not.toMatch(/TypeError|not a function/);
      expect(r.error).not.toBe('');
    } finally {
      server.close();
    }
  });

  it('opens a BuildKit session through the real gRPC module, loaded on that first use', async () => {
    const r = await run(
      `await new (engineClient())({ socketPath: '/nonexistent/docker.sock' }).buildImage({ context: '.', src: [] }, { version: '2' });`,
    );
    expect(r.before).toEqual([]);
    expect(r.after).toContain('grpc');
    expect(r.error).toBe('ENOENT');
  });
});
