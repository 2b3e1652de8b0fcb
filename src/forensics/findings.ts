/** What a route finds: differences (capped), explanations by kind, and observations. */
import { ExplanationList } from './explanations.js';
import type { Difference, Explanation, Observation } from './types.js';

const MAX_DIFFERENCES = 200;
const MAX_OBSERVATIONS = 50;

export class Findings {
  readonly differences: Difference[] = [];
  readonly explanations = new ExplanationList();
  readonly observations: Observation[] = [];
  /** Differences found beyond the cap (still make the verdict `different`). */
  dropped = 0;
  diff(d: Difference): void {
    if (this.differences.length < MAX_DIFFERENCES) this.differences.push(d);
    else this.dropped++;
  }
  observe(o: Observation): void {
    if (this.observations.length < MAX_OBSERVATIONS) this.observations.push(o);
  }
  /** The contexts still being drawn, one after another (see `drawLater`). */
  private drawing: Promise<void> = Promise.resolve();
  /**
   * Draws a difference's context (a disassembly runs objdump) while the
   * comparison goes on: one at a time, in the order asked; `drawn()` waits
   * for all of them and throws the first error.
   */
  drawLater(draw: () => Promise<void>): void {
    this.drawing = this.drawing.then(draw);
    this.drawing.catch(() => undefined);
  }
  drawn(): Promise<void> {
    return this.drawing;
  }
}

/** A route's result, handed on as a typed value. */
export interface RouteResult {
  explanations: Explanation[];
  differences: Difference[];
  observations: Observation[];
}

export function resultOf(f: Findings, suffix?: Parameters<ExplanationList['render']>[0]): RouteResult {
  return {
    explanations: f.explanations.render(suffix),
    differences: f.differences,
    observations: f.observations,
  };
}
