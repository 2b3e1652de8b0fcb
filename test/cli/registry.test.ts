import { Command, Help } from 'commander';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { COMMAND_NAMES, COMMANDS, targetCommand } from '../../src/cli/registry.js';

describe('the command registry', () => {
  // `rebuild --help` lists commands from the registry without loading them: it must say what
  // the commands themselves say, or the listing would lie.
  for (const name of COMMAND_NAMES) {
    it(`lists ${name} as its module defines it`, async () => {
      const program = new Command();
      (await COMMANDS[name].load()).register(program);
      const cmd = program.commands.find((c) => c.name() === name);
      expect(cmd, name).toBeDefined();
      expect(new Help().subcommandTerm(cmd!)).toBe(COMMANDS[name].term);
      expect(cmd!.description()).toBe(COMMANDS[name].description);
      const isDefault = (program as unknown as { _defaultCommandName?: string })._defaultCommandName === name;
      expect(isDefault).toBe('isDefault' in COMMANDS[name]);
    });
  }

  it('picks the command from the words of the command line', () => {
    expect(targetCommand(['compare', 'a', 'b'])).toBe('compare');
    expect(targetCommand(['--json', 'compare', 'a', 'b'])).toBe('compare');
    expect(targetCommand(['help', 'audit'])).toBe('audit');
    expect(targetCommand(['lz4', '--arch', 'aarch64'])).toBe('verify');
    expect(targetCommand(['--help'])).toBeUndefined();
    expect(targetCommand([])).toBeUndefined();
  });

  it('loads every command when the words mislead (an option value that is a command name)', async () => {
    // `--out compare` makes `compare` look like the command; the default command runs instead,
    // and fails on its missing argument as it would have with every command loaded.
    const code = await main(['node', 'rebuild', '--out', 'compare']);
    expect(code).toBe(3);
  });
});
