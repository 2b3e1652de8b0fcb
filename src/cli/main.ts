import { Command, CommanderError, Help } from 'commander';
import { REBUILD_VERSION } from '../util/version.js';
import { exitQuietlyWhenOutputCloses } from './closed-output.js';
import { ExitCode, exitCodeHelp } from './exit-codes.js';
import { COMMAND_NAMES, COMMANDS, type CommandName, targetCommand } from './registry.js';

/** Thrown by a placeholder command's action: the command line needs the real command. */
class PlaceholderInvoked extends Error {}

function newProgram(): Command {
  return (
    new Command()
      .name('rebuild')
      .description(
        'Rebuild pkgforge packages in their builder images, verify them, and explain every byte that differs',
      )
      .version(REBUILD_VERSION)
      .option('--config <file>', 'read defaults from this YAML file (see `rebuild config`)')
      // Usage errors read like rebuild's own: `rebuild: …` and a fix line.
      .configureOutput({
        outputError: (text, write) => write(text.replace(/^error: /, 'rebuild: ')),
      })
      .showHelpAfterError('  fix: run the command with --help for its usage')
      .addHelpText('after', exitCodeHelp())
      .exitOverride()
      .configureHelp({
        // Placeholders have no options or arguments: list them as the real command would.
        subcommandTerm: (cmd) => COMMANDS[cmd.name() as CommandName]?.term ?? new Help().subcommandTerm(cmd),
      })
  );
}

/**
 * Registers the commands in `loaded` from their modules and every other one
 * as a placeholder (name and description only), so that `rebuild --help`
 * and the command that runs load only what they use.
 */
async function registerCommands(program: Command, loaded: readonly CommandName[]): Promise<void> {
  const modules = new Map(await Promise.all(loaded.map(async (n) => [n, await COMMANDS[n].load()] as const)));
  for (const name of COMMAND_NAMES) {
    const module = modules.get(name);
    if (module) {
      module.register(program);
      continue;
    }
    const entry = COMMANDS[name];
    program
      .command(name, { isDefault: 'isDefault' in entry && entry.isDefault })
      .description(entry.description)
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(() => {
        throw new PlaceholderInvoked(name);
      });
  }
}

async function parse(argv: string[], loaded: readonly CommandName[]): Promise<number> {
  const program = newProgram();
  await registerCommands(program, loaded);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; usage errors are input errors.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.input;
    }
    throw err;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
}

export async function main(argv: string[]): Promise<number> {
  exitQuietlyWhenOutputCloses();
  const target = targetCommand(argv.slice(2));
  try {
    return await parse(argv, target ? [target] : []);
  } catch (err) {
    if (!(err instanceof PlaceholderInvoked)) throw err;
    // The words did not tell which command runs (an option's value that is a
    // command's name, or no words at all): load them all and parse again.
    return parse(argv, COMMAND_NAMES);
  }
}
