import type { Readable } from 'node:stream';

/** One message of the engine's JSON progress stream (build, load). */
export interface ProgressEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string; code?: number };
  aux?: { ID?: string };
  [key: string]: unknown;
}

/**
 * Reads an engine JSON-lines progress stream to its end. dockerode's
 * followProgress calls a failed build "finished": the failure is only inside
 * the messages, so every message is checked here and the first
 * `error`/`errorDetail` rejects (after the stream ends). `onLine` gets each
 * text line (`stream`/`status`) as it arrives, without its newline.
 */
export function followJsonStream(
  stream: Readable,
  onLine?: (line: string) => void,
): Promise<{ events: ProgressEvent[]; error?: string }> {
  return new Promise((resolve, reject) => {
    const events: ProgressEvent[] = [];
    let error: string | undefined;
    let buf = '';
    let text = '';
    const emitText = (s: string, flush: boolean): void => {
      text += s;
      const lines = text.split('\n');
      text = flush ? '' : (lines.pop() ?? '');
      if (!onLine) return;
      for (const l of lines) {
        const t = l.replace(/\r/g, '').trimEnd();
        if (t) onLine(t);
      }
    };
    const handle = (line: string): void => {
      if (!line.trim()) return;
      let ev: ProgressEvent;
      try {
        ev = JSON.parse(line) as ProgressEvent;
      } catch {
        emitText(`${line}\n`, false);
        return;
      }
      events.push(ev);
      if (ev.error || ev.errorDetail) {
        error ??= ev.error ?? ev.errorDetail?.message ?? 'unknown engine error';
        emitText(`error: ${ev.error ?? ev.errorDetail?.message ?? ''}\n`, false);
      }
      if (typeof ev.stream === 'string') emitText(ev.stream, false);
      else if (typeof ev.status === 'string') emitText(`${ev.status}\n`, false);
    };
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) handle(l);
    });
    stream.on('end', () => {
      handle(buf);
      emitText('', true);
      resolve(error === undefined ? { events } : { events, error });
    });
    stream.on('error', reject);
  });
}
