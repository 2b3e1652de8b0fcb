import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';

/** What the shim script sends: the caller's cwd, argv and environment. */
export interface ShimRequest {
  cwd: string;
  argv: string[];
  env: Record<string, string>;
}

/** Where a command writes its output while it runs. */
export interface JobIO {
  stdout(chunk: Buffer | string): void;
  stderr(chunk: Buffer | string): void;
}

/** Carries out one docker command; resolves to its exit code. */
export type ShimHandler = (request: ShimRequest, io: JobIO) => Promise<number>;

/** Largest request body accepted (argv + environment). */
const MAX_BODY = 4 * 1024 * 1024;

/**
 * Request bodies being received, all connections together: without it, a
 * recipe opening thousands of connections that each send MAX_BODY - 1 bytes
 * and never finish makes rebuild hold thousands × 4 MiB.
 */
const MAX_BODIES_IN_FLIGHT = 16 * 1024 * 1024;

/** Connections open at once (the docker shim script uses at most four per command). */
const MAX_CONNECTIONS = 1024;

/** Jobs whose exit code has not been fetched yet; more are refused (a recipe looping over the raw socket). */
const MAX_OPEN_JOBS = 256;

/**
 * Output held for a reader that has not attached, or does not read (per
 * stream). Larger than what `docker logs` replays at once (8 MiB), so a
 * reader that does read gets all of it.
 */
const MAX_PENDING_BYTES = 24 * 1024 * 1024;

/**
 * Output held for all jobs of one server together (waiting for a reader or
 * unread by it): without it, MAX_OPEN_JOBS jobs × 2 streams × MAX_PENDING_BYTES
 * would be 12 GiB a recipe could make rebuild hold.
 */
const MAX_HELD_BYTES = 64 * 1024 * 1024;

/** Bytes held by every stream of one server, against one limit. */
export class HeldBytes {
  used = 0;
  constructor(readonly limit = MAX_HELD_BYTES) {}
}

/**
 * Decodes `cwd\0argc\0argv…\0env…\0` (see runners/docker-shim). Pure.
 */
export function decodeShimRequest(body: Buffer): ShimRequest {
  const fields = body.toString('utf8').split('\0');
  if (fields.at(-1) === '') fields.pop();
  const cwd = fields[0] ?? '/';
  const argc = Number(fields[1]);
  if (!Number.isInteger(argc) || argc < 0 || argc > fields.length - 2)
    throw new Error('malformed shim request');
  const argv = fields.slice(2, 2 + argc);
  const env: Record<string, string> = {};
  for (const entry of fields.slice(2 + argc)) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { cwd, argv, env };
}

interface Job {
  out: StreamBuffer;
  err: StreamBuffer;
  exit: Promise<number>;
}

/**
 * Output kept until its one reader has taken it, then streamed live. Both
 * what waits for the reader and what the reader has not consumed are
 * bounded: beyond that, output is dropped and the reader is told how much.
 */
export class StreamBuffer {
  private chunks: Buffer[] = [];
  private pending = 0;
  private dropped = 0;
  private reader: ServerResponse | undefined;
  private ended = false;
  /** What this stream counts in `held` now: its pending chunks, or the reader's unsent backlog. */
  private counted = 0;

  constructor(
    private readonly maxPending = MAX_PENDING_BYTES,
    private readonly held = new HeldBytes(Number.POSITIVE_INFINITY),
  ) {}

  write(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.reader) {
      this.recount(this.reader.writableLength);
      if (this.reader.writableLength + buf.length > this.maxPending || !this.fits(buf.length)) {
        this.dropped += buf.length;
      } else {
        this.reader.write(buf);
        this.recount(this.reader.writableLength);
      }
      return;
    }
    if (this.pending + buf.length > this.maxPending || !this.fits(buf.length)) {
      this.dropped += buf.length;
      return;
    }
    this.chunks.push(buf);
    this.pending += buf.length;
    this.recount(this.pending);
  }

  /** Bytes dropped so far (not read in time, or over a bound). */
  get droppedBytes(): number {
    return this.dropped;
  }

  /** The job is forgotten: what no reader took is dropped and no longer counts. */
  release(): void {
    this.chunks = [];
    this.pending = 0;
    if (!this.reader) this.recount(0);
  }

  end(): void {
    this.ended = true;
    if (this.reader) this.finish(this.reader);
  }

  attach(res: ServerResponse): void {
    if (this.reader) {
      res.writeHead(409).end('this stream already has a reader\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    for (const c of this.chunks) res.write(c);
    this.chunks = [];
    this.pending = 0;
    this.reader = res;
    this.recount(res.writableLength);
    // What the reader took no longer counts; a reader gone holds nothing.
    res.on('drain', () => this.recount(res.writableLength));
    res.on('close', () => this.recount(0));
    if (this.ended) this.finish(res);
  }

  private fits(n: number): boolean {
    return this.held.used + n <= this.held.limit;
  }

  private recount(now: number): void {
    this.held.used += now - this.counted;
    this.counted = now;
  }

  private finish(res: ServerResponse): void {
    if (this.dropped > 0) {
      res.write(`\n[rebuild shim: ${this.dropped} bytes of output were dropped (not read in time)]\n`);
    }
    res.end();
  }
}

/**
 * The rebuild side of the docker shim: an HTTP server on a unix socket that
 * the host-runner container reaches through a mounted work directory.
 * `POST /v1/jobs` starts a command and returns its id; `GET …/stdout` and
 * `…/stderr` stream its output; `GET …/exit` waits for its exit code.
 */
export class ShimServer {
  private server: Server | undefined;
  private readonly jobs = new Map<string, Job>();
  /** Jobs whose exit code was fetched; forgotten once their output streams are closed too. */
  private readonly done = new Set<string>();
  /** Output held for all jobs together. */
  private readonly held = new HeldBytes();
  /** Bytes of request bodies received but not yet complete, all connections together. */
  private bodiesInFlight = 0;

  constructor(
    readonly socketPath: string,
    private readonly handler: ShimHandler,
  ) {}

  async start(): Promise<void> {
    await mkdir(dirname(this.socketPath), { recursive: true });
    await rm(this.socketPath, { force: true });
    const server = createServer((req, res) => void this.route(req, res));
    server.maxConnections = MAX_CONNECTIONS;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => resolve());
    });
    // Connecting needs write permission: under user-namespace remapping the
    // container's root is an unprivileged host uid. Who may reach the socket
    // is decided by its directory (inside rebuild's private work directory).
    await chmod(this.socketPath, 0o666);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await rm(this.socketPath, { force: true });
  }

  /** Resolves when every job started so far has finished. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.jobs.values()].map((j) => j.exit));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = req.url ?? '/';
      if (req.method === 'POST' && url === '/v1/jobs') return await this.create(req, res);
      const m = /^\/v1\/jobs\/([a-f0-9]{16})\/(stdout|stderr|exit)$/.exec(url);
      const job = m ? this.jobs.get(m[1]!) : undefined;
      if (!m || !job || req.method !== 'GET') {
        res.writeHead(404).end('no such job\n');
        return;
      }
      if (m[2] === 'stdout') job.out.attach(res);
      else if (m[2] === 'stderr') job.err.attach(res);
      else {
        const code = await job.exit;
        // The exit code is the last thing the shim script asks for: the job is done with.
        this.done.add(m[1]!);
        res.writeHead(200).end(`${code}\n`);
      }
    } catch (err) {
      if (!res.headersSent) res.writeHead(500);
      res.end(`${err instanceof Error ? err.message : String(err)}\n`);
    }
  }

  private async create(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const id of this.done) {
      const job = this.jobs.get(id);
      job?.out.release();
      job?.err.release();
      this.jobs.delete(id);
      this.done.delete(id);
    }
    if (this.jobs.size >= MAX_OPEN_JOBS) {
      res.writeHead(429).end(`more than ${MAX_OPEN_JOBS} docker commands at once\n`);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.length;
        this.bodiesInFlight += chunk.length;
        if (size > MAX_BODY) {
          res.writeHead(413).end('request too large\n');
          return;
        }
        if (this.bodiesInFlight > MAX_BODIES_IN_FLIGHT) {
          res.writeHead(503).end('too many requests being sent at once\n');
          return;
        }
        chunks.push(chunk);
      }
    } finally {
      this.bodiesInFlight -= size;
    }
    let request: ShimRequest;
    try {
      request = decodeShimRequest(Buffer.concat(chunks));
    } catch (e) {
      res.writeHead(400).end(`${e instanceof Error ? e.message : String(e)}\n`);
      return;
    }
    const id = randomBytes(8).toString('hex');
    const out = new StreamBuffer(MAX_PENDING_BYTES, this.held);
    const err = new StreamBuffer(MAX_PENDING_BYTES, this.held);
    const exit = this.handler(request, { stdout: (c) => out.write(c), stderr: (c) => err.write(c) })
      .catch((e: unknown) => {
        err.write(`docker (rebuild shim): ${e instanceof Error ? e.message : String(e)}\n`);
        return 125;
      })
      .finally(() => {
        out.end();
        err.end();
      });
    this.jobs.set(id, { out, err, exit });
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end(id);
  }
}
