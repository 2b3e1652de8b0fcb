import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { dbLocation, defaultDbPath } from '../../audit/audit.js';
import { isPostgresUrl } from '../../audit/db/sql.js';
import { historyEntries, renderHistoryText } from '../../audit/history.js';
import { AuditStore } from '../../audit/store.js';
import { parseArch } from '../../engine/types.js';
import { RebuildError } from '../../util/errors.js';
import { action } from '../action.js';
import { configValues } from '../config.js';
import { ExitCode } from '../exit-codes.js';
import { describe } from '../registry.js';

export function register(program: Command): void {
  program
    .command('history')
    .description(describe('history'))
    .argument('<pkg>', 'pkg, pkg_id or unit (repo/pkg_id/pkg@arch); qualify a name with #bincache/#pkgcache')
    .option('--arch <arch>', 'only this arch')
    .option(
      '--db <path|url>',
      'audit database: an SQLite file or a postgresql:// connection string',
      configValues().state_db ?? defaultDbPath(),
    )
    .option('--json', 'print the entries as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 found, 3 no verdict recorded for <pkg>, 8 the database cannot be used.',
    )
    .action(
      action(async (query: string, flags: { arch?: string; db: string; json?: boolean }) => {
        const arch = flags.arch === undefined ? undefined : parseArch(flags.arch);
        if (flags.arch !== undefined && !arch) {
          throw new RebuildError('usage', `--arch: unknown arch "${flags.arch}"`, {
            fix: 'use x86_64 or aarch64',
          });
        }
        if (!isPostgresUrl(flags.db) && !existsSync(flags.db)) {
          throw new RebuildError('state', 'no audit database here yet', {
            subject: flags.db,
            fix: 'run `rebuild audit` first, or point --db at its database',
          });
        }
        const store = await AuditStore.open(dbLocation(flags.db));
        try {
          const results = await store.history(query, arch);
          if (flags.json) {
            process.stdout.write(`${JSON.stringify(historyEntries(results), null, 2)}\n`);
          } else if (results.length > 0) {
            process.stdout.write(renderHistoryText(results));
          }
          if (results.length === 0) {
            process.stderr.write(
              `rebuild: no verdicts recorded for ${query}${arch ? ` (${arch})` : ''} in ${store.path}\n`,
            );
            return ExitCode.input;
          }
          return ExitCode.ok;
        } finally {
          await store.close();
        }
      }),
    );
}
