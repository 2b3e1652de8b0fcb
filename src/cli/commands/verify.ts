import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { onInterrupt } from '../../engine/cleanup.js';
import type { Arch } from '../../engine/types.js';
import { parsePublicKey } from '../../upstream/minisign.js';
import { isRebuildError, RebuildError } from '../../util/errors.js';
import { renderVerifyHtml, renderVerifyMarkdown, renderVerifyText } from '../../verify/report.js';
import { verifyPackage } from '../../verify/verify.js';
import { action } from '../action.js';
import { exitCodeHelp, verifyExitCode } from '../exit-codes.js';
import { addContainerOptions, archOption, type ContainerFlags, limitsFromFlags } from '../options.js';
import {
  addOutputOptions,
  jsonOnStdout,
  type OutputFlags,
  reportOptionsOf,
  writeOutputs,
} from '../outputs.js';
import { describe } from '../registry.js';
import { addTomlOptions, runTomlVerify, type TomlFlags, tomlTarget } from '../toml-era.js';
import { addUpstreamOptions, type UpstreamFlags, upstreamFromFlags } from '../upstream-options.js';

/** Levenshtein distance, for "did you mean" on command typos. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]!;
}

/** The command a typo probably meant (`biuld` → `build`), if any. */
export function commandSuggestion(word: string, commands: string[]): string | undefined {
  const w = word.toLowerCase();
  const best = commands
    .map((c) => ({ c, d: editDistance(w, c) }))
    .filter(({ c, d }) => d > 0 && d <= (c.length <= 4 ? 1 : 2))
    .sort((x, y) => x.d - y.d)[0];
  return best?.c;
}

interface VerifyFlags extends UpstreamFlags, ContainerFlags, TomlFlags, OutputFlags {
  pkgVersion?: string;
  arch: Arch;
  out?: string;
  verbose?: boolean;
  quiet?: boolean;
  keepWork?: boolean;
  minisignKey?: string;
  attest?: string;
  provenance?: boolean;
  provenanceApi?: string;
  localBuilder?: boolean;
  recipe?: string;
}

/**
 * Whether (and where) to ask for pkgforge's build provenance: always with
 * --provenance-api, never with --no-provenance, and by default only when
 * talking to pkgforge itself (no mirror, no local index) so that offline and
 * loopback runs never reach out to GitHub.
 */
function provenanceFrom(flags: VerifyFlags): { apiBase: string; token?: string } | undefined {
  if (flags.provenance === false) return undefined;
  const token = process.env.GITHUB_TOKEN || process.env.GH_TOKEN || undefined;
  if (flags.provenanceApi) return { apiBase: flags.provenanceApi, token };
  const upstreamIsPkgforge = !flags.metadata && !flags.metadataBase && !(flags.registryMirror ?? []).length;
  return upstreamIsPkgforge ? { apiBase: 'https://api.github.com', token } : undefined;
}

export function register(program: Command): void {
  const commands = () => program.commands.map((c) => c.name()).filter((n) => n !== 'verify');
  const cmd = program
    .command('verify', { isDefault: true })
    .usage('<pkg> [options]   (also: rebuild <pkg> [options])')
    .description(describe('verify'))
    .argument(
      '<pkg>',
      'pkg, pkg_name, pkg_id or pkg_family; qualify with #bincache/#pkgcache when several match',
    )
    .allowExcessArguments(true)
    .addOption(archOption())
    .option('--out <dir>', 'output directory (default: rebuild-out/<pkg>/<arch>)')
    .option('--verbose', 'plain log lines even in a terminal')
    .option('--quiet', 'no progress, only the result')
    .option('--keep-work', 'keep the build work directory (for debugging)')
    .option(
      '--minisign-key <key|file>',
      "minisign public key to check <file>.sig with (default: pkgforge's key for the record's repository)",
    )
    .option('--attest <key>', 'sign the verdict with this Ed25519 key (writes attestation.intoto.jsonl)')
    .option(
      '--provenance-api <url>',
      "check pkgforge's GitHub build-provenance attestation through this API (default: api.github.com when not mirrored)",
    )
    .option('--no-provenance', "do not ask for pkgforge's build-provenance attestation")
    .option(
      '--recipe <file>',
      'rebuild this local recipe instead of the recipe of record (the result says so)',
    )
    .option(
      '--local-builder',
      "run rebuild's local builder stand-in even when pkgforge's builder of record can be pulled",
    );
  addContainerOptions(cmd);
  addUpstreamOptions(cmd);
  addTomlOptions(cmd);
  addOutputOptions(cmd, 'the verification (JSON: result.json)');
  cmd.addHelpText(
    'after',
    `\nWrites result.json, report.md and report.html (and published/, build/) to the output directory.\n${exitCodeHelp()}`,
  );
  cmd.action(
    action(async (query: string, flags: VerifyFlags, command: Command) => {
      const extra = command.args.slice(1);
      if (extra.length > 0) {
        const guess = commandSuggestion(query, commands());
        throw new RebuildError(
          'usage',
          guess
            ? `unknown command "${query}"`
            : `one package at a time: got ${[query, ...extra].map((x) => `"${x}"`).join(' ')}`,
          {
            fix: guess
              ? `did you mean \`rebuild ${guess} ${extra.join(' ')}\`? (run rebuild --help for the commands)`
              : 'run rebuild <pkg> --arch <arch> once per package',
          },
        );
      }
      // A bad recipe or key fails before anything is fetched or built.
      if (flags.recipe) (await import('../../recipe/index.js')).loadRecipeFile(flags.recipe);
      const signingKey = flags.attest
        ? await (await import('../../evidence/keys.js')).loadSigningKey(flags.attest)
        : undefined;
      const controller = new AbortController();
      const unregister = onInterrupt(() => controller.abort());
      try {
        // TOML era: a pkg.toml, a version file, or <pkg> in --soarpkgs
        const toml = tomlTarget(query, flags);
        if (toml) return await runTomlVerify(toml, flags, limitsFromFlags(flags), controller.signal);
        const { createReporter } = await import('../progress.js');
        const upstream = upstreamFromFlags(flags);
        const result = await verifyPackage(
          {
            query,
            arch: flags.arch,
            metadata: upstream.metadata,
            registry: upstream.registry,
            outDir: flags.out,
            network: flags.network,
            limits: limitsFromFlags(flags),
            imageMap: flags.imageMap,
            keepWork: flags.keepWork,
            provenance: provenanceFrom(flags),
            signal: controller.signal,
            ...(flags.localBuilder ? { localBuilder: true } : {}),
            ...(flags.recipe ? { recipeFile: flags.recipe } : {}),
            report: reportOptionsOf(flags),
            ...(flags.minisignKey ? { minisignKey: await readMinisignKey(flags.minisignKey) } : {}),
          },
          createReporter({ verbose: flags.verbose, quiet: flags.quiet || jsonOnStdout(flags) }),
        ).catch((err: unknown) => {
          // A package that is not found and looks like a command typo: say so.
          const guess = commandSuggestion(query, commands());
          if (isRebuildError(err) && guess && (err.category === 'usage' || err.category === 'input')) {
            throw new RebuildError(err.category, err.message, {
              subject: err.subject,
              fix: `${err.fix ? `${err.fix}; or ` : ''}did you mean the command \`rebuild ${guess}\`?`,
            });
          }
          throw err;
        });
        const attested =
          signingKey && result.published.sha256
            ? await (await import('../../evidence/attest.js')).attestResult(result.outDir, signingKey)
            : undefined;
        const attestation = attested
          ? `\n  attestation      ${attested.path} (key ${signingKey?.keyid.slice(0, 16)}…)\n`
          : signingKey
            ? '\n  attestation      none: the published file was never fetched, so there is nothing to attest\n'
            : '';
        await writeOutputs(flags, {
          text: (t) => renderVerifyText(result, t) + attestation,
          json: () => `${JSON.stringify(result, null, 2)}\n`,
          markdown: () => renderVerifyMarkdown(result),
          html: () => renderVerifyHtml(result),
        });
        return verifyExitCode(result);
      } finally {
        unregister();
      }
    }),
  );
}

/** `--minisign-key`: a base64 key line as given, or the contents of a .pub file. */
async function readMinisignKey(value: string): Promise<string> {
  const text = /^RW[A-Za-z0-9+/]{54}$/.test(value.trim()) ? value.trim() : await readKeyFile(value);
  try {
    parsePublicKey(text);
  } catch (err) {
    throw new RebuildError(
      'usage',
      `--minisign-key ${value} is not a minisign public key: ${(err as Error).message}`,
      {
        subject: value,
        fix: 'pass the base64 key line (RW…) or the path of a minisign .pub file',
      },
    );
  }
  return text;
}

async function readKeyFile(value: string): Promise<string> {
  try {
    return await readFile(value, 'utf8');
  } catch (err) {
    throw new RebuildError(
      'usage',
      `--minisign-key: cannot read ${value}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      {
        subject: value,
        fix: 'pass the base64 key line (RW…) or the path of a minisign .pub file',
      },
    );
  }
}
