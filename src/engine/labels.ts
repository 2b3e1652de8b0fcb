/** Labels rebuild puts on every image it makes (no proof of origin: the image records are). */
export const LABELS = {
  role: 'dev.rebuild.role',
  arch: 'dev.rebuild.arch',
  builder: 'dev.rebuild.builder',
  inputsHash: 'dev.rebuild.inputs-hash',
  /** Base image: hash of suite, variant, arch, packages (without the mmdebstrap version). */
  specHash: 'dev.rebuild.spec-hash',
  /** Images built on a base: the base image ID. */
  base: 'dev.rebuild.base',
} as const;
