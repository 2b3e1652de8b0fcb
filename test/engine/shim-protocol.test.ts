import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeShimRequest, type ShimRequest, ShimServer } from '../../src/engine/shim/server.js';

/**
 * The real shim script (runners/docker-shim, bash + curl) talking to the real
 * server over a unix socket, on the host: the same bytes that cross the
 * socket inside the host-runner container. The handler here is a test one;
 * the engine side is covered by the build tests.
 */
const SHIM = resolve('runners/docker-shim');
let dir: string;
let server: ShimServer;
const seen: ShimRequest[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-shim-'));
  server = new ShimServer(join(dir, 'shim.sock'), async (req, io) => {
    seen.push(req);
    if (req.argv[0] === 'fail') {
      io.stderr('bad things\n');
      return 42;
    }
    for (let i = 0; i < 3; i++) {
      io.stdout(`line ${i}\n`);
      await new Promise((r) => setTimeout(r, 20));
    }
    io.stderr('to stderr\n');
    return 0;
  });
  await server.start();
});

afterAll(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

const run = (args: string[], env: Record<string, string> = {}) =>
  execa(SHIM, args, {
    reject: false,
    env: { REBUILD_SHIM_SOCKET: join(dir, 'shim.sock'), ...env },
    cwd: dir,
  });

describe('docker shim protocol', () => {
  it('forwards argv with spaces, quotes and newlines, cwd and env, and streams output', async () => {
    const arg = `bash -l -c '\n echo "a b" $x\n'`;
    const r = await run(['run', '--name', 'x y', arg], { SOME_TOKEN: 'v=1' });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('line 0\nline 1\nline 2');
    expect(r.stderr).toBe('to stderr');
    const req = seen.at(-1)!;
    expect(req.argv).toEqual(['run', '--name', 'x y', arg]);
    expect(req.cwd).toBe(dir);
    expect(req.env.SOME_TOKEN).toBe('v=1');
  });

  it('returns the command exit code', async () => {
    const r = await run(['fail']);
    expect(r.exitCode).toBe(42);
    expect(r.stderr).toBe('bad things');
  });

  it('fails with 125 and a message when rebuild is not listening', async () => {
    const r = await execa(SHIM, ['ps'], {
      reject: false,
      env: { REBUILD_SHIM_SOCKET: join(dir, 'none.sock') },
    });
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toMatch(/no connection to rebuild/);
  });

  it('bounds request bodies sent at once over many connections (none ever finished): 503, then it still works', async () => {
    // Expected: 12 connections each sending 3 MiB of a 4 MiB body and never finishing would make rebuild hold
    // 36 MiB; past the shared 16 MiB bound the server answers 503 and drops them; a normal command then works.
    const answers: Promise<string>[] = [];
    const sockets: Socket[] = [];
    for (let i = 0; i < 12; i++) {
      const sock = connect(join(dir, 'shim.sock'));
      sockets.push(sock);
      answers.push(
        new Promise((resolve) => {
          let text = '';
          sock.on('data', (d) => {
            text += d.toString('latin1');
          });
          sock.on('close', () => resolve(text.split('\r\n')[0] ?? ''));
          sock.on('error', () => undefined);
        }),
      );
      sock.write('POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 4194000\r\n\r\n');
      sock.write(Buffer.alloc(3 * 1024 * 1024, 0x41));
    }
    await new Promise((r) => setTimeout(r, 500));
    for (const s of sockets) s.end();
    const status = await Promise.all(answers);
    expect(status.filter((l) => / 503 /.test(l)).length).toBeGreaterThan(0);
    const r = await run(['fine']);
    expect(r.exitCode).toBe(0);
  });

  it('decodes requests strictly', () => {
    expect(decodeShimRequest(Buffer.from('/w\x002\x00a\x00b\x00K=V\x00'))).toEqual({
      cwd: '/w',
      argv: ['a', 'b'],
      env: { K: 'V' },
    });
    expect(() => decodeShimRequest(Buffer.from('/w\x009\x00a\x00'))).toThrow(/malformed/);
  });
});
