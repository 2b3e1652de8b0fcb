import type { Command } from 'commander';
import { stringify } from 'yaml';
import { hostArch } from '../../engine/types.js';
import { action } from '../action.js';
import { configSchema, loadConfig } from '../config.js';
import { ExitCode } from '../exit-codes.js';

export function register(program: Command): void {
  program
    .command('config')
    .description('show the config file in use and the values it sets (validated)')
    .option('--json', 'print one JSON document')
    .addHelpText(
      'after',
      `\nThe file is --config FILE, else $REBUILD_CONFIG, else $XDG_CONFIG_HOME/rebuild/config.yaml
(~/.config/rebuild/config.yaml). Flags on the command line win over it. Keys:
  ${Object.keys(configSchema().shape).join(', ')}
Example:
  arch: aarch64
  metadata_base: https://meta.example.org
  registry_mirrors: { ghcr.io: "https://mirror.example.org" }
  image_map: { alpine-builder: "local/alpine-builder:3.20" }
  cache_dir: /var/cache/rebuild
  state_db: /var/lib/rebuild/audit.sqlite
  jobs: 2`,
    )
    .action(
      action(async (flags: { json?: boolean }) => {
        const c = loadConfig();
        if (flags.json) {
          process.stdout.write(
            `${JSON.stringify({ path: c.path, found: c.found, values: c.values }, null, 2)}\n`,
          );
          return ExitCode.ok;
        }
        process.stdout.write(`# ${c.path}${c.found ? '' : ' (not found: built-in defaults apply)'}\n`);
        if (c.found && Object.keys(c.values).length > 0) process.stdout.write(stringify(c.values));
        if (!c.values.arch) process.stdout.write(`# arch: ${hostArch()} (this machine)\n`);
        return ExitCode.ok;
      }),
    );
}
