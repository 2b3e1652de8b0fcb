/**
 * The post-processing route compares a (published) with a plan over b (the
 * simulated post-processing of the rebuilt file). The hash pass reads every
 * byte of a anyway: offered that plan before it starts on a, its reading
 * thread compares a with it as it reads it, byte for byte, and a is read
 * once instead of twice. An offer the pass cannot take is declined, and the
 * route compares a itself. Bound to the pair's two open sources: a plan
 * over any other source than b's is declined, as the thread reads b's
 * open file for the plan's ranges.
 */
import type { PlanToCompare } from './threads.js';

/** A plan as the route has it: pieces over b's open source (see src/postprocess/plan.ts). */
export type OfferedPlan = Omit<PlanToCompare, 'fd'>;

export interface TakenOffer {
  plan: OfferedPlan;
  /** The pass's answer: whether a equals the plan; undefined when it could not tell (it failed). */
  answer(equal: boolean | undefined): void;
}

export class PassComparison {
  private open = true;
  private offered: TakenOffer | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly a: unknown,
    private readonly b: unknown,
  ) {}

  /**
   * The route's side: whether `a` equals the plan over `b`, as the pass found
   * it; undefined when not taken (the caller compares itself). One offer only.
   */
  offer(plan: OfferedPlan, a: unknown, b: unknown): Promise<boolean | undefined> {
    if (!this.open || this.offered || a !== this.a || b !== this.b) return Promise.resolve(undefined);
    return new Promise((answer) => {
      this.offered = { plan, answer };
      this.wake?.();
    });
  }

  /**
   * The pass's side, just before it reads a: the offer made by then, or
   * before `until` settles. None is taken after; one taken must be answered.
   */
  async take(until: Promise<unknown>): Promise<TakenOffer | undefined> {
    if (this.open && !this.offered) {
      const offered = new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      await Promise.race([
        offered,
        until.then(
          () => undefined,
          () => undefined,
        ),
      ]);
    }
    this.open = false;
    return this.offered;
  }

  /** No offer is taken from now on; one made and not taken is declined. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.offered?.answer(undefined);
  }
}
