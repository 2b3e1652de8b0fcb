/** Moved to src/postprocess/binutils.ts (kept so forensics callers need not change at once). */
export * from '../postprocess/binutils.js';
