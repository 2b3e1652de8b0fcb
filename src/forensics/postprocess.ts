/** Moved to src/postprocess/ (kept so forensics callers need not change at once). */
export {
  type SimulatedPostProcessing,
  type SimulateOptions,
  simulatePkgforgePostProcessing,
  simulatePostProcessing,
} from '../postprocess/simulate.js';
