/**
 * Parses the `docker` command lines that 2025 pkgforge recipes run into
 * typed commands the shim can check and carry out. Pure. The subset is what
 * recipes use: `run` with its common flags, `cp`, `rm`, `stop`, `kill`,
 * `wait`, `logs`, `pull`. Anything else is refused by name.
 */

export interface VolumeSpec {
  source: string;
  target: string;
  readOnly: boolean;
}

export interface RunCommand {
  kind: 'run';
  image: string;
  args: string[];
  name?: string;
  env: { name: string; value?: string }[];
  envFiles: string[];
  volumes: VolumeSpec[];
  workdir?: string;
  entrypoint?: string;
  user?: string;
  platform?: string;
  network?: string;
  remove: boolean;
  detach: boolean;
  /** Flags accepted but not honoured (e.g. --privileged), for the log. */
  ignored: string[];
}

export interface CopyCommand {
  kind: 'cp';
  source: { container?: string; path: string };
  dest: { container?: string; path: string };
}

export interface NamesCommand {
  kind: 'rm' | 'stop' | 'kill' | 'wait' | 'logs';
  names: string[];
  force: boolean;
}

export interface PullCommand {
  kind: 'pull';
  image: string;
}

export type DockerCommand = RunCommand | CopyCommand | NamesCommand | PullCommand;

export class DockerArgvError extends Error {}

/** `docker run` flags that take a value; short aliases map to the long name. */
const RUN_VALUE_FLAGS = new Map<string, string>([
  ['-e', '--env'],
  ['--env', '--env'],
  ['--env-file', '--env-file'],
  ['-v', '--volume'],
  ['--volume', '--volume'],
  ['-w', '--workdir'],
  ['--workdir', '--workdir'],
  ['--name', '--name'],
  ['--entrypoint', '--entrypoint'],
  ['-u', '--user'],
  ['--user', '--user'],
  ['--platform', '--platform'],
  ['--net', '--network'],
  ['--network', '--network'],
  ['--pull', '--pull'],
  ['--hostname', '--ignored'],
  ['-h', '--ignored'],
  ['--cap-add', '--ignored'],
  ['--cap-drop', '--ignored'],
  ['--security-opt', '--ignored'],
  ['--ulimit', '--ignored'],
  ['--shm-size', '--ignored'],
  ['--memory', '--ignored'],
  ['-m', '--ignored'],
  ['--cpus', '--ignored'],
  ['--label', '--ignored'],
  ['-l', '--ignored'],
  ['--add-host', '--ignored'],
  ['--dns', '--ignored'],
  ['--tmpfs', '--ignored'],
  ['--device', '--refused'],
  ['--mount', '--refused'],
  ['--volumes-from', '--refused'],
  ['--pid', '--refused'],
  ['--ipc', '--refused'],
  ['--userns', '--refused'],
  ['--cgroupns', '--refused'],
]);

/** `docker run` flags without a value. */
const RUN_BOOL_FLAGS = new Map<string, string>([
  ['--rm', '--rm'],
  ['-d', '--detach'],
  ['--detach', '--detach'],
  ['-i', '--ignored'],
  ['--interactive', '--ignored'],
  ['-t', '--ignored'],
  ['--tty', '--ignored'],
  ['--init', '--ignored'],
  ['--privileged', '--ignored'],
  ['-q', '--ignored'],
  ['--quiet', '--ignored'],
]);

const NAME_VERBS = new Set(['rm', 'stop', 'kill', 'wait', 'logs']);

export function parseDockerArgv(argv: string[]): DockerCommand {
  const [verb, ...rest] = argv;
  if (verb === 'container' && rest[0] && (rest[0] === 'run' || rest[0] === 'cp' || NAME_VERBS.has(rest[0]))) {
    return parseDockerArgv(rest);
  }
  if (verb === 'run') return parseRun(rest);
  if (verb === 'cp') return parseCp(rest);
  if (verb && NAME_VERBS.has(verb)) return parseNames(verb as NamesCommand['kind'], rest);
  if (verb === 'pull') {
    const image = rest.find((a) => !a.startsWith('-'));
    if (!image) throw new DockerArgvError('`docker pull` needs an image');
    return { kind: 'pull', image };
  }
  throw new DockerArgvError(
    `\`docker ${argv.slice(0, 2).join(' ')}\` is not supported by rebuild's docker shim (supported: run, cp, rm, stop, kill, wait, logs, pull)`,
  );
}

function parseRun(args: string[]): RunCommand {
  const cmd: RunCommand = {
    kind: 'run',
    image: '',
    args: [],
    env: [],
    envFiles: [],
    volumes: [],
    remove: false,
    detach: false,
    ignored: [],
  };
  let i = 0;
  while (i < args.length) {
    const arg = args[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    // Combined short flags: -it, -dit
    if (/^-[a-zA-Z]{2,}$/.test(arg) && [...arg.slice(1)].every((c) => RUN_BOOL_FLAGS.has(`-${c}`))) {
      for (const c of arg.slice(1)) applyBool(cmd, `-${c}`);
      i++;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (RUN_BOOL_FLAGS.has(flag) && eq < 0) {
      applyBool(cmd, flag);
      i++;
      continue;
    }
    const canonical = RUN_VALUE_FLAGS.get(flag);
    if (!canonical)
      throw new DockerArgvError(`\`docker run ${flag}\` is not supported by rebuild's docker shim`);
    let value: string;
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      i++;
    } else {
      const next = args[i + 1];
      if (next === undefined) throw new DockerArgvError(`\`docker run ${flag}\` needs a value`);
      value = next;
      i += 2;
    }
    applyValue(cmd, flag, canonical, value);
  }
  const image = args[i];
  if (!image) throw new DockerArgvError('`docker run` needs an image');
  cmd.image = image;
  cmd.args = args.slice(i + 1);
  return cmd;
}

function applyBool(cmd: RunCommand, flag: string): void {
  const canonical = RUN_BOOL_FLAGS.get(flag);
  if (canonical === '--rm') cmd.remove = true;
  else if (canonical === '--detach') cmd.detach = true;
  else cmd.ignored.push(flag);
}

function applyValue(cmd: RunCommand, flag: string, canonical: string, value: string): void {
  switch (canonical) {
    case '--env': {
      const eq = value.indexOf('=');
      cmd.env.push(eq < 0 ? { name: value } : { name: value.slice(0, eq), value: value.slice(eq + 1) });
      return;
    }
    case '--env-file':
      cmd.envFiles.push(value);
      return;
    case '--volume':
      cmd.volumes.push(parseVolume(value));
      return;
    case '--workdir':
      cmd.workdir = value;
      return;
    case '--name':
      cmd.name = value;
      return;
    case '--entrypoint':
      cmd.entrypoint = value;
      return;
    case '--user':
      cmd.user = value;
      return;
    case '--platform':
      cmd.platform = value;
      return;
    case '--network':
      cmd.network = value;
      return;
    case '--refused':
      throw new DockerArgvError(`\`docker run ${flag}\` is refused by rebuild's container policy`);
    default:
      cmd.ignored.push(`${flag}=${value}`);
  }
}

export function parseVolume(value: string): VolumeSpec {
  const parts = value.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) {
    throw new DockerArgvError(`volume "${value}" must be SOURCE:TARGET[:ro|rw]`);
  }
  const modes = (parts[2] ?? 'rw').split(',');
  return { source: parts[0], target: parts[1], readOnly: modes.includes('ro') };
}

function parseCp(args: string[]): CopyCommand {
  const operands = args.filter((a) => !/^-[aLq]+$|^--(archive|follow-link|quiet)$/.test(a));
  if (operands.length !== 2) throw new DockerArgvError('`docker cp` needs SOURCE and DEST');
  const side = (s: string) => {
    const m = /^([a-zA-Z0-9][a-zA-Z0-9_.-]*):(.*)$/.exec(s);
    return m ? { container: m[1]!, path: m[2] || '/' } : { path: s };
  };
  const source = side(operands[0]!);
  const dest = side(operands[1]!);
  if (!!source.container === !!dest.container) {
    throw new DockerArgvError('`docker cp` copies between a container and the local file system');
  }
  return { kind: 'cp', source, dest };
}

function parseNames(kind: NamesCommand['kind'], args: string[]): NamesCommand {
  let force = false;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-f' || a === '--force') force = true;
    else if (a === '-t' || a === '--time' || a === '-s' || a === '--signal') i++;
    else if (/^--(time|signal)=/.test(a) || /^(-v|--volumes|--follow|-F|--timestamps)$/.test(a)) continue;
    else if (a.startsWith('-'))
      throw new DockerArgvError(`\`docker ${kind} ${a}\` is not supported by rebuild's docker shim`);
    else names.push(a);
  }
  if (names.length === 0) throw new DockerArgvError(`\`docker ${kind}\` needs a container name`);
  return { kind, names, force };
}
