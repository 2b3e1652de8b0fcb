import type { Command } from 'commander';

/** What a command module exports: it adds its command (options, action) to the program. */
export interface CommandModule {
  register(program: Command): void;
}

/**
 * One command as `rebuild --help` lists it, without loading its module: the
 * module (and everything it imports: the engine, listr2, the audit, …) is
 * imported only when the command line names the command.
 */
export interface CommandEntry {
  /** The usage term `rebuild --help` prints, as commander would from the full definition. */
  term: string;
  description: string;
  /** The command `rebuild <pkg>` runs when the first word is no command's name. */
  isDefault?: true;
  load(): Promise<CommandModule>;
}

/** One entry per command, in `rebuild --help` order; each module takes its description from here. */
export const COMMANDS = {
  build: {
    term: 'build [options] <recipe>',
    description:
      'rebuild an SBUILD recipe in its builder image, or a pkgforge/builds build.toml exactly like build.py, and hash (and verify) what it makes',
    load: () => import('./commands/build.js'),
  },
  compare: {
    term: 'compare [options] <a> <b>',
    description:
      'compare two files (a = published, b = rebuilt) and explain every difference: exit 0 identical, 1 equivalent, 2 different, 3 bad input',
    load: () => import('./commands/compare.js'),
  },
  recipe: {
    term: 'recipe [options] <file...>',
    description:
      'Validate recipes (SBUILD, soarpkgs pkg.toml + version files, pkgforge/builds build.toml) and show what a rebuild would do (a directory means every *.yaml, *.yml, SBUILD, pkg.toml and build.toml below it)',
    load: () => import('./commands/recipe.js'),
  },
  runner: {
    term: 'runner',
    description:
      'Builder images: make them offline (Debian base via mmdebstrap + dockerfiles/) and list them',
    load: () => import('./commands/runner.js'),
  },
  search: {
    term: 'search [options] <term>',
    description: "search pkgforge's metadata for packages whose name, pkg_id or description contains <term>",
    load: () => import('./commands/search.js'),
  },
  info: {
    term: 'info [options] <pkg>',
    description:
      'show what `rebuild <pkg>` would rebuild: version, build date, recipe of record, checksums, files',
    load: () => import('./commands/info.js'),
  },
  verify: {
    term: 'verify [options] <pkg>',
    description:
      'verify a published pkgforge package: fetch it, check its checksums, rebuild its recipe of record, compare (the default command: `rebuild <pkg> --arch aarch64`)',
    isDefault: true,
    load: () => import('./commands/verify.js'),
  },
  replay: {
    term: 'replay [options] <result>',
    description:
      're-run a recorded verification (result.json) with exactly its inputs and say whether the verdict is the same',
    load: () => import('./commands/replay.js'),
  },
  audit: {
    term: 'audit [options]',
    description:
      'verify many packages (a list, or the metadata index filtered), remember every verdict, and report what changed since last time (for cron)',
    load: () => import('./commands/audit.js'),
  },
  evidence: {
    term: 'evidence [options] <result>',
    description: 'pack a verification into one evidence bundle (.tar.gz) a maintainer can check and replay',
    load: () => import('./commands/evidence.js'),
  },
  attest: {
    term: 'attest',
    description: 'sign a verification as an in-toto statement (DSSE, Ed25519), or check a signed one',
    load: () => import('./commands/attest.js'),
  },
  keygen: {
    term: 'keygen [options]',
    description: 'make an Ed25519 key pair for signing attestations (NAME.key, private; NAME.pub, to share)',
    load: () => import('./commands/keygen.js'),
  },
  hash: {
    term: 'hash [options] <file...>',
    description: "print each file's SHA-256 and BLAKE3 (pkgforge's shasum and bsum), both from one read",
    load: () => import('./commands/hash.js'),
  },
  worker: {
    term: 'worker [options]',
    description:
      'one machine of an audit farm: take jobs a distributed `rebuild audit` queued in PostgreSQL, verify them with this machine’s engine, record the results',
    load: () => import('./commands/worker.js'),
  },
  inspect: {
    term: 'inspect [options] <pkg>',
    description:
      'print the recipe of record of a published package (the SBUILD it was built from), with its digest',
    load: () => import('./commands/inspect.js'),
  },
  log: {
    term: 'log [options] <pkg>',
    description:
      "print a published package's build log; with --diff, compare it with the rebuild's, noise folded",
    load: () => import('./commands/log.js'),
  },
  config: {
    term: 'config [options]',
    description: 'show the config file in use and the values it sets (validated)',
    load: () => import('./commands/config.js'),
  },
  history: {
    term: 'history [options] <pkg>',
    description: "a package's verdicts over time, from the audit database",
    load: () => import('./commands/history.js'),
  },
} as const satisfies Record<string, CommandEntry>;

export type CommandName = keyof typeof COMMANDS;

export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

export function isCommandName(word: string | undefined): word is CommandName {
  return word !== undefined && Object.hasOwn(COMMANDS, word);
}

/** The command's description, for its module's `.description(…)`. */
export function describe(name: CommandName): string {
  return COMMANDS[name].description;
}

const DEFAULT_COMMAND = COMMAND_NAMES.find((n) => 'isDefault' in COMMANDS[n]) as CommandName;

/**
 * The one command an argument vector runs, judged from its words alone
 * (`help <name>` names `<name>`); undefined when it names none and has no
 * word that could be the default command's argument (`rebuild`, `rebuild --help`).
 * A misjudgement is safe: main() then loads every command and parses again.
 */
export function targetCommand(args: readonly string[]): CommandName | undefined {
  const words = args.filter((a) => !a.startsWith('-'));
  const first = words[0] === 'help' ? words[1] : words[0];
  if (first === undefined) return undefined;
  return isCommandName(first) ? first : DEFAULT_COMMAND;
}
