import { Command, CommanderError } from 'commander';
import { REBUILD_VERSION } from '../util/version.js';
import { ExitCode, exitCodeHelp } from './exit-codes.js';

/** Each command lives in src/cli/commands/<name>.ts and registers itself. */
type Registrar = (program: Command) => void;

async function registrars(): Promise<Registrar[]> {
  const modules = await Promise.all([
    // one line per command
    import('./commands/build.js'),
    import('./commands/compare.js'),
    import('./commands/recipe.js'),
    import('./commands/runner.js'),
    import('./commands/search.js'),
    import('./commands/info.js'),
    import('./commands/verify.js'),
    import('./commands/replay.js'),
    import('./commands/audit.js'),
    import('./commands/history.js'),
    import('./commands/inspect.js'),
    import('./commands/log.js'),
    import('./commands/config.js'),
    import('./commands/evidence.js'),
    import('./commands/attest.js'),
    import('./commands/keygen.js'),
  ]);
  return modules.map((m: { register: Registrar }) => m.register);
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('rebuild')
    .description(
      'Rebuild pkgforge packages in their builder images, verify them, and explain every byte that differs',
    )
    .version(REBUILD_VERSION)
    .option('--config <file>', 'read defaults from this YAML file (see `rebuild config`)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', exitCodeHelp())
    .exitOverride();
  for (const register of await registrars()) register(program);
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
