import { availableParallelism, totalmem } from 'node:os';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type Arch, type ContainerLimits, hostArch, parseArch } from '../engine/types.js';
import { configArch, configValues } from './config.js';

/**
 * Option parsers shared by the commands that build (build, verify, audit):
 * a bad value is a usage error (exit 3) that commander names with its option.
 */
export function parseArchOption(value: string): Arch {
  const arch = parseArch(value);
  if (!arch) throw new InvalidArgumentError('must be x86_64 or aarch64 (amd64/arm64 accepted)');
  return arch;
}

/** `--arch`, the same wording and default (this machine) for every command that takes one arch. */
export function archOption(): Option {
  return new Option('--arch <arch>', 'target architecture: x86_64 or aarch64')
    .argParser(parseArchOption)
    .default(
      configArch() ?? hostArch(),
      configArch() ? `${configArch()}, from the config file` : `this machine, ${hostArch()}`,
    );
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

/** A number within [min, max] (a limit the engine could not honour is a usage error, not a silent clamp). */
export function boundedNumber(
  min: number,
  max: number,
  unit: string,
  integer = false,
): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(
        `it must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}${unit ? ` ${unit}` : ''}`,
      );
    }
    return n;
  };
}

const HOST_GIB = Math.floor(totalmem() / 1024 ** 3);
const HOST_CPUS = availableParallelism();

/** `--image-map NAME=LOCAL_IMAGE`, repeatable. */
export function collectImageMap(
  value: string,
  previous: Record<string, string> | undefined,
): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new InvalidArgumentError('must be NAME=LOCAL_IMAGE');
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** The container options every building command takes (build, verify, audit): the same limits for all. */
export interface ContainerFlags {
  network: 'none' | 'host';
  timeout?: number;
  memory?: number;
  cpus?: number;
  pids?: number;
  diskReserve?: number;
  /** Absent when no --image-map was given. */
  imageMap?: Record<string, string>;
}

export function addContainerOptions(cmd: Command): Command {
  return addLimitOptions(
    cmd.addOption(
      new Option('--network <mode>', 'network for build containers (recipes that download sources need host)')
        .choices(['none', 'host'])
        .default('none'),
    ),
  ).addOption(imageMapOption());
}

/** The limits alone (`replay`, whose network and images are the recorded ones). */
export type LimitFlags = Pick<ContainerFlags, 'timeout' | 'memory' | 'cpus' | 'pids' | 'diskReserve'>;

export function addLimitOptions(cmd: Command, defaults = '(default: '): Command {
  const d = (v: string) => `${defaults}${v})`;
  return cmd
    .option(
      '--timeout <minutes>',
      `wall-time limit of each build ${d('60')}`,
      boundedNumber(0.05, 7 * 24 * 60, 'minutes'),
    )
    .option(
      '--memory <GiB>',
      `memory limit per container ${d('4')}`,
      boundedNumber(0.25, Math.max(1, HOST_GIB), 'GiB (what this host has)'),
    )
    .option(
      '--cpus <n>',
      `number of CPUs per container, also what nproc shows inside ${d('one per GiB of --memory, at most the host has')}`,
      boundedNumber(1, HOST_CPUS, 'CPUs (what this host has)', true),
    )
    .option('--pids <n>', `process limit per container ${d('4096')}`, boundedNumber(16, 1_000_000, '', true))
    .option(
      '--disk-reserve <GiB>',
      `free space a build must leave on the disks it writes (its work directory, the engine's data root); it is stopped below that, so a runaway recipe cannot fill this machine ${d('1')}`,
      boundedNumber(0, 1024 ** 2, 'GiB'),
    );
}

function imageMapOption(): Option {
  const o = new Option(
    '--image-map <name=image>',
    'use a local image for a builder name (repeatable)',
  ).argParser(collectImageMap);
  const fromConfig = configValues().image_map;
  return fromConfig ? o.default(fromConfig, 'image_map from the config file') : o;
}

/** The limits the flags ask for (the engine's defaults fill in the rest). */
export function limitsFromFlags(flags: LimitFlags): Partial<ContainerLimits> {
  return {
    ...(flags.timeout ? { timeoutMs: flags.timeout * 60_000 } : {}),
    ...(flags.memory ? { memoryBytes: Math.round(flags.memory * 1024 ** 3) } : {}),
    ...(flags.pids ? { pids: flags.pids } : {}),
    ...(flags.cpus ? { cpus: flags.cpus } : {}),
    ...(flags.diskReserve !== undefined
      ? { diskReserveBytes: Math.round(flags.diskReserve * 1024 ** 3) }
      : {}),
  };
}
