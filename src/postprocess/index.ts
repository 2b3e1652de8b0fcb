/**
 * The post-processing stage: what pkgforge's CI did to a build's outputs
 * after the recipe ran, era by era, as data (profiles.ts), chosen by
 * repository and build date (select.ts), applied to a build (apply.ts) or
 * simulated on one file for forensics (simulate.ts). Build and forensics both
 * import from here; this stage imports neither.
 */
export * from './apply.js';
export * from './binutils.js';
export * from './elf-ident.js';
export * from './passes.js';
export * from './profiles.js';
export * from './select.js';
export * from './simulate.js';
