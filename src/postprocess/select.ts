/**
 * Chooses the post-processing profile of record for a build: by repository
 * and build date. pkgforge's 2025 CI fetched its scripts from `main` when a
 * job started and wrote `build_date` when the job finished (after up to
 * 150 minutes of build, plus queueing), so a date within BOUNDARY_MARGIN_MS
 * of a profile boundary makes both neighbours plausible; a missing or
 * unreadable date makes every profile of the repository plausible. The
 * forensic route tries all plausible profiles and says which reproduced the
 * published bytes. Pure.
 */
import { RebuildError } from '../util/errors.js';
import { type PostProcessProfile, PROFILES, type ProfileId, type ProfileRepository } from './profiles.js';

/** A day each side of a boundary. */
export const BOUNDARY_MARGIN_MS = 24 * 3600_000;

export interface ProfileChoice {
  /** The profile whose date range holds the build date (or the latest, when the date is missing). */
  profile: PostProcessProfile;
  /** Every profile that could have run, `profile` first. */
  candidates: PostProcessProfile[];
  /** One sentence: why this profile. */
  reason: string;
}

const t = (iso: string | undefined, dflt: number) => (iso ? Date.parse(iso) : dflt);

export function selectProfile(
  repository: ProfileRepository,
  buildDate: string | undefined,
  profiles: readonly PostProcessProfile[] = PROFILES,
): ProfileChoice | undefined {
  const mine = profiles.filter((p) => p.repository === repository);
  if (mine.length === 0) return undefined;
  const when = buildDate ? Date.parse(buildDate) : Number.NaN;
  if (Number.isNaN(when)) {
    const latest = mine[mine.length - 1]!;
    return {
      profile: latest,
      candidates: [latest, ...mine.filter((p) => p !== latest)],
      reason: `no readable build date${buildDate ? ` ("${buildDate}")` : ''}: every ${repository} profile is plausible`,
    };
  }
  const inRange = (p: PostProcessProfile, margin: number) =>
    when >= t(p.from, -Infinity) - margin && when < t(p.until, Infinity) + margin;
  const exact =
    mine.find((p) => inRange(p, 0)) ?? (when < t(mine[0]!.from, 0) ? mine[0]! : mine[mine.length - 1]!);
  const near = mine.filter((p) => p !== exact && inRange(p, BOUNDARY_MARGIN_MS));
  const range = `${exact.from?.slice(0, 10) ?? 'the start'} – ${exact.until?.slice(0, 10) ?? 'the end'}`;
  let reason = `${repository} build of ${buildDate}: ${exact.id} (${exact.source.repo}@${exact.source.commit}, in use ${range})`;
  if (!inRange(exact, 0)) reason += '; the date is outside every known range, the nearest profile is used';
  if (near.length > 0)
    reason += `; within a day of a boundary, so ${near.map((p) => p.id).join(', ')} also plausible`;
  return { profile: exact, candidates: [exact, ...near], reason };
}

/** What a build is asked to apply: a profile id or `none`, and why. */
export interface PostProcessRequest {
  profile: ProfileId | 'none';
  reason: string;
  /** Other plausible profile ids (shown, and tried by forensics). */
  alternatives?: string[];
}

/** A recipe run without metadata: the `--strip-all` era of bincache, the profile rebuild always emulated. */
export const DEFAULT_BUILD_PROFILE: PostProcessRequest = {
  profile: 'bincache-2025-04-10',
  reason:
    'no metadata record: the default profile (bincache 2025-04-10 … 2025-06-25, objcopy + strip --strip-all); pass --postprocess PROFILE|none to choose',
};

/** Every id --postprocess accepts. */
export const POSTPROCESS_CHOICES: readonly string[] = [...PROFILES.map((p) => p.id), 'none'];

/** The request as applyPostProcessing wants it. Throws RebuildError('usage') for an unknown id. */
export function resolvePostProcessRequest(req: PostProcessRequest): {
  profile: PostProcessProfile | undefined;
  reason: string;
  alternatives?: string[];
} {
  if (req.profile === 'none')
    return {
      profile: undefined,
      reason: req.reason,
      ...(req.alternatives ? { alternatives: req.alternatives } : {}),
    };
  const profile = PROFILES.find((p) => p.id === req.profile);
  if (!profile) {
    throw new RebuildError('usage', `unknown post-processing profile "${req.profile}"`, {
      fix: `use one of: ${POSTPROCESS_CHOICES.join(', ')}`,
    });
  }
  return { profile, reason: req.reason, ...(req.alternatives ? { alternatives: req.alternatives } : {}) };
}

/** The request for a metadata record: its repository and build date. */
export function requestForRecord(
  repository: ProfileRepository,
  buildDate: string | undefined,
): PostProcessRequest {
  const choice = selectProfile(repository, buildDate);
  if (!choice) return { profile: 'none', reason: `no post-processing profile is known for ${repository}` };
  const alternatives = choice.candidates.slice(1).map((p) => p.id);
  return {
    profile: choice.profile.id,
    reason: choice.reason,
    ...(alternatives.length ? { alternatives } : {}),
  };
}
