import type { Command } from 'commander';
import type { Arch } from '../../engine/types.js';
import { action } from '../action.js';
import { ExitCode } from '../exit-codes.js';
import { archOption } from '../options.js';
import { addUpstreamOptions, type UpstreamFlags } from '../upstream-options.js';
import { fetchPublishedText } from './published-file.js';

interface InspectFlags extends UpstreamFlags {
  arch: Arch;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('inspect')
    .description(
      'print the recipe of record of a published package (the SBUILD it was built from), with its digest',
    )
    .argument('<pkg>', 'pkg, pkg_name, pkg_id or pkg_family; qualify with #bincache, #pkgcache or #<pkg_id>')
    .addOption(archOption())
    .option('--json', 'print one JSON document (recipe text included)');
  addUpstreamOptions(cmd);
  cmd.action(
    action(async (query: string, flags: InspectFlags) => {
      const r = await fetchPublishedText(query, flags.arch, flags, 'recipe');
      if (flags.json) {
        const doc = {
          pkg: r.record.pkg,
          pkg_id: r.record.pkgId,
          repo: r.record.repo,
          version: r.record.version,
          arch: flags.arch,
          reference: r.reference,
          manifest_digest: r.manifestDigest,
          recipe: { name: r.name, digest: r.digest, size: r.size, text: r.text },
        };
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      } else {
        // The header goes to stderr, so that stdout is the recipe byte for byte.
        process.stderr.write(
          `# recipe of record of ${r.record.pkg} ${r.record.version} (${r.record.repo}, ${flags.arch})\n` +
            `# ${r.name} ${r.digest} (${r.size} bytes) from ${r.reference}@${r.manifestDigest}\n`,
        );
        process.stdout.write(r.text.endsWith('\n') || r.text === '' ? r.text : `${r.text}\n`);
      }
      return ExitCode.ok;
    }),
  );
}
