/**
 * What an objcopy said about itself (`--version`'s first line and the
 * supported-targets line of `--help`), remembered across processes in
 * `${XDG_CACHE_HOME:-~/.cache}/rebuild/binutils.json`: asking costs two
 * process starts on every `rebuild compare` that shows a disassembly or
 * simulates post-processing. An entry is keyed by the tool's path and its
 * identity on disk (`toolFileIdentity`: device, inode, size, times), so an upgraded or
 * replaced tool is asked again. The file is the user's own, like the tools on
 * their PATH; a missing, unreadable or malformed file only means asking.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultCacheRoot } from '../upstream/cache.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { runTool } from '../util/run-tool.js';
import { toolFileIdentity } from '../util/tool-version.js';

export interface ObjcopyAnswers {
  /** First line of `--version` (empty when it failed). */
  version: string;
  /** `--help`'s text, or just its `supported targets:` line when remembered. */
  help: string;
}

const MAX_ENTRIES = 32;

function cacheFile(): string {
  return join(defaultCacheRoot(), 'binutils.json');
}

async function identity(tool: string): Promise<string | undefined> {
  return toolFileIdentity(tool).then(
    (id) => `${tool}\0${id}`,
    () => undefined,
  );
}

async function readCache(): Promise<Record<string, ObjcopyAnswers>> {
  try {
    const doc = JSON.parse(await readFile(cacheFile(), 'utf8')) as unknown;
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return {};
    const out: Record<string, ObjcopyAnswers> = {};
    for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
      const e = v as Partial<ObjcopyAnswers> | null;
      if (e && typeof e.version === 'string' && typeof e.help === 'string')
        out[k] = { version: e.version, help: e.help };
    }
    return out;
  } catch {
    return {};
  }
}

/** `objcopy --version` and `--help` (side by side), or their remembered answers. */
export async function askObjcopy(objcopy: string): Promise<ObjcopyAnswers> {
  const key = await identity(objcopy);
  const cached = key ? await readCache() : {};
  const hit = key ? cached[key] : undefined;
  if (hit) return hit;
  const [v, h] = await Promise.all([
    runTool(objcopy, ['--version'], { timeoutMs: 10_000 }),
    runTool(objcopy, ['--help'], { timeoutMs: 10_000 }),
  ]);
  const answers: ObjcopyAnswers = {
    version: v.exitCode === 0 ? (v.stdout.split('\n')[0]?.trim() ?? '') : '',
    help: `${h.stdout}\n${h.stderr}`,
  };
  // Remember only complete answers from a tool that did not change meanwhile.
  const targets = /^.*supported targets:.*$/m.exec(answers.help)?.[0];
  if (key && answers.version !== '' && targets && (await identity(objcopy)) === key) {
    const entries = Object.entries(cached).filter(([k]) => !k.startsWith(`${objcopy}\0`));
    const kept = Object.fromEntries([
      ...entries.slice(-(MAX_ENTRIES - 1)),
      [key, { version: answers.version, help: targets }],
    ]);
    try {
      await mkdir(defaultCacheRoot(), { recursive: true });
      await writeJsonAtomic(cacheFile(), kept);
    } catch {
      // A read-only cache only means asking next time.
    }
  }
  return answers;
}
