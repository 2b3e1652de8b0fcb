import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuild } from '../helpers/cli.js';

// Opening a FIFO for reading blocks until a writer comes, and a process blocked there ignores
// SIGTERM: every file a user names must be refused as "not a regular file" instead. The
// timeout below only catches such a hang (a fast machine answers in well under a second).
const HANG_BOUND_MS = 90_000;

let dir: string;
let fifo: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rebuild-fifo-'));
  fifo = join(dir, 'pipe');
  execFileSync('mkfifo', [fifo]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a FIFO named as an input is refused, never opened for a blocking read', () => {
  const cases: [string, (f: string) => string[]][] = [
    ['hash FILE', (f) => ['hash', f]],
    ['replay RESULT', (f) => ['replay', f]],
    ['--config FILE', (f) => ['--config', f, 'config']],
    ['--metadata FILE', (f) => ['inspect', 'somepkg', '--metadata', f]],
    ['attest verify --key FILE', (f) => ['attest', 'verify', 'attestation.intoto.jsonl', '--key', f]],
    ['audit --packages FILE', (f) => ['audit', '--packages', f, '--db', join(dir, 'audit.db')]],
  ];
  it.each(cases)('%s', async (_name, args) => {
    const r = await rebuild(args(fifo), { cwd: dir, timeoutMs: HANG_BOUND_MS });
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/not a regular file/);
    expect(r.stderr).toContain(fifo.split('/').pop());
    expect(r.stderr).toMatch(/\n {2}fix: /);
  });
});
