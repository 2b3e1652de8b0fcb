import { commandSubstitutions, simpleCommands } from './shell-words.js';
import type { DockerRun, RecipeMode } from './types.js';

/** `docker run` options that take a value (when not written as `--opt=value`). */
const RUN_LONG_WITH_VALUE = new Set([
  'add-host',
  'annotation',
  'attach',
  'blkio-weight',
  'blkio-weight-device',
  'cap-add',
  'cap-drop',
  'cgroup-parent',
  'cgroupns',
  'cidfile',
  'cpu-count',
  'cpu-percent',
  'cpu-period',
  'cpu-quota',
  'cpu-rt-period',
  'cpu-rt-runtime',
  'cpu-shares',
  'cpus',
  'cpuset-cpus',
  'cpuset-mems',
  'detach-keys',
  'device',
  'device-cgroup-rule',
  'device-read-bps',
  'device-read-iops',
  'device-write-bps',
  'device-write-iops',
  'dns',
  'dns-opt',
  'dns-option',
  'dns-search',
  'domainname',
  'entrypoint',
  'env',
  'env-file',
  'expose',
  'gpus',
  'group-add',
  'health-cmd',
  'health-interval',
  'health-retries',
  'health-start-interval',
  'health-start-period',
  'health-timeout',
  'hostname',
  'ip',
  'ip6',
  'ipc',
  'isolation',
  'kernel-memory',
  'label',
  'label-file',
  'link',
  'link-local-ip',
  'log-driver',
  'log-opt',
  'mac-address',
  'memory',
  'memory-reservation',
  'memory-swap',
  'memory-swappiness',
  'mount',
  'name',
  'net',
  'net-alias',
  'network',
  'network-alias',
  'oom-score-adj',
  'pid',
  'pids-limit',
  'platform',
  'publish',
  'pull',
  'restart',
  'runtime',
  'security-opt',
  'shm-size',
  'stop-signal',
  'stop-timeout',
  'storage-opt',
  'sysctl',
  'tmpfs',
  'ulimit',
  'user',
  'userns',
  'uts',
  'volume',
  'volume-driver',
  'volumes-from',
  'workdir',
]);

/** Short `docker run` options that take a value. */
const RUN_SHORT_WITH_VALUE = new Set(['a', 'c', 'e', 'h', 'l', 'm', 'p', 'u', 'v', 'w']);

/** Global `docker` options (before the subcommand) that take a value. */
const DOCKER_GLOBAL_WITH_VALUE = new Set([
  '--config',
  '--context',
  '-c',
  '--host',
  '-H',
  '--log-level',
  '-l',
]);

/** `sudo` options that take a value. */
const SUDO_WITH_VALUE = new Set(['-u', '-g', '-C', '-D', '-h', '-p', '-r', '-t', '-U', '-T']);

function basename(word: string): string {
  const k = word.lastIndexOf('/');
  return k >= 0 ? word.slice(k + 1) : word;
}

function isAssignment(word: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*=/.test(word);
}

/** Strip command prefixes that run the next word as a command: sudo, env, exec, command, nohup, timeout, nice, assignments. */
function stripPrefixes(words: string[]): string[] {
  let i = 0;
  for (;;) {
    const w = words[i];
    if (w === undefined) return [];
    if (isAssignment(w)) {
      i++;
      continue;
    }
    const b = basename(w);
    if (b === 'sudo' || b === 'doas') {
      i++;
      while (i < words.length && words[i]!.startsWith('-')) {
        const opt = words[i]!;
        i++;
        if (opt === '--') break;
        if (SUDO_WITH_VALUE.has(opt)) i++;
      }
      continue;
    }
    if (b === 'env') {
      i++;
      while (i < words.length && (words[i]!.startsWith('-') || isAssignment(words[i]!))) i++;
      continue;
    }
    if (b === 'exec' || b === 'command' || b === 'nohup' || b === 'builtin') {
      i++;
      while (i < words.length && words[i]!.startsWith('-')) i++;
      continue;
    }
    if (b === 'nice' || b === 'timeout') {
      i++;
      while (i < words.length && words[i]!.startsWith('-')) {
        const opt = words[i]!;
        i++;
        if (/^-(n|s|k|-signal|-kill-after|-adjustment)$/.test(opt)) i++;
      }
      if (b === 'timeout') i++; // the duration
      continue;
    }
    return words.slice(i);
  }
}

/** If `words` is a `docker run` (or `docker container run`), parse it. */
export function parseDockerRun(words: string[], line: number): DockerRun | undefined {
  const cmd = stripPrefixes(words);
  if (cmd.length === 0 || basename(cmd[0]!) !== 'docker') return undefined;
  let i = 1;
  while (i < cmd.length && cmd[i]!.startsWith('-')) {
    const opt = cmd[i]!;
    i++;
    if (DOCKER_GLOBAL_WITH_VALUE.has(opt)) i++;
  }
  if (cmd[i] === 'container') i++;
  if (cmd[i] !== 'run') return undefined;
  i++;
  let name: string | undefined;
  let platform: string | undefined;
  const take = (key: string, value: string | undefined) => {
    if (value === undefined) return;
    if (key === 'name') name = value;
    if (key === 'platform') platform = value;
  };
  while (i < cmd.length) {
    const w = cmd[i]!;
    if (w === '--') {
      i++;
      break;
    }
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      if (eq >= 0) {
        take(w.slice(2, eq), w.slice(eq + 1));
        i++;
      } else {
        const key = w.slice(2);
        if (RUN_LONG_WITH_VALUE.has(key)) {
          take(key, cmd[i + 1]);
          i += 2;
        } else i++;
      }
      continue;
    }
    if (w.startsWith('-') && w.length > 1) {
      // A cluster of short flags; a value-taking one consumes the rest of the word or the next word.
      let consumedNext = false;
      for (let k = 1; k < w.length; k++) {
        const ch = w[k]!;
        if (RUN_SHORT_WITH_VALUE.has(ch)) {
          if (k === w.length - 1) consumedNext = true;
          break;
        }
      }
      i += consumedNext ? 2 : 1;
      continue;
    }
    break;
  }
  const image = cmd[i];
  if (image === undefined || image === '') return undefined;
  const run: DockerRun = { image, command: cmd.slice(i + 1), line };
  if (name !== undefined) run.name = name;
  if (platform !== undefined) run.platform = platform;
  return run;
}

function collect(script: string, lineOffset: number, runs: DockerRun[], depth: number): void {
  for (const c of simpleCommands(script)) {
    const r = parseDockerRun(c.words, c.line + lineOffset);
    if (r) runs.push(r);
    // `ID=$(docker run -d img)` and the like: look inside command substitutions too.
    if (depth < 4)
      for (const w of c.raws)
        if (w.includes('$(') || w.includes('`'))
          for (const inner of commandSubstitutions(w))
            if (inner.includes('docker')) collect(inner, c.line + lineOffset - 1, runs, depth + 1);
  }
}

/** Every `docker run` invocation in a script, in order. Commented-out lines and here-documents are ignored. */
export function findDockerRuns(script: string): DockerRun[] {
  const runs: DockerRun[] = [];
  // Cheap pre-check: most scripts never mention docker.
  if (!script.includes('docker')) return runs;
  collect(script, 0, runs, 0);
  return runs;
}

/** Mode and images of a recipe from its `x_exec` parts. */
export function classify(x: { run: string; container?: string; bsys?: string }): {
  mode: RecipeMode;
  images: string[];
  dockerRuns: DockerRun[];
} {
  const dockerRuns = findDockerRuns(x.run);
  const images: string[] = [];
  for (const r of dockerRuns) if (!images.includes(r.image)) images.push(r.image);
  if (x.container && !images.includes(x.container)) images.push(x.container);
  let mode: RecipeMode = 'host';
  if (x.container) mode = 'container';
  else if (dockerRuns.length > 0 || x.bsys?.trim().toLowerCase().startsWith('docker://')) mode = 'docker-run';
  return { mode, images, dockerRuns };
}
