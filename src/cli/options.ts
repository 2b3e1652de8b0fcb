import { InvalidArgumentError } from 'commander';
import { type Arch, parseArch } from '../engine/types.js';

/**
 * Option parsers shared by the commands that build (build, verify, audit):
 * a bad value is a usage error (exit 3) that commander names with its option.
 */
export function parseArchOption(value: string): Arch {
  const arch = parseArch(value);
  if (!arch) throw new InvalidArgumentError('must be x86_64 or aarch64 (amd64/arm64 accepted)');
  return arch;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

/** `--image-map NAME=LOCAL_IMAGE`, repeatable. */
export function collectImageMap(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new InvalidArgumentError('must be NAME=LOCAL_IMAGE');
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}
