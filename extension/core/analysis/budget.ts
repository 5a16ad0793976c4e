// One budget for a whole analysis, shared by every stage that can be made to run long by its
// input (reading, parsing, merging hunks, lowering, simulating). When it is spent the stage
// stops where it is, the result so far is kept, and one note says what was cut and where.
// Work units make a cut reproducible (the same input is cut at the same place on any machine);
// the time limit is the safety net for work we do not count.

export type BudgetStage = 'read' | 'parse' | 'merge' | 'lower' | 'simulate';

export interface BudgetLimits {
  /** Wall-clock milliseconds for the whole analysis. */
  timeMs: number;
  /** Work units: one per C statement or (impure) expression interpreted, three per hunk line parsed, lowered and merged. */
  work: number;
}

/** Far above a whole-tree audit of Linux 7.3 (about a quarter of a million units with results reused, 28 million without); a hostile input stops long before it fills a machine. */
export const DEFAULT_BUDGET: BudgetLimits = { timeMs: 600_000, work: 200_000_000 };

export interface BudgetCut {
  stage: BudgetStage;
  /** What was being done when the budget ran out, e.g. "KVM_RUN in state 12" or "svm.c: svm_set_msr". */
  where: string;
  reason: 'time' | 'work';
}

/** Thrown by spend() once the budget is gone; caught by the stage that can keep a partial result. */
export class BudgetExhausted extends Error {
  constructor(readonly cut: BudgetCut) {
    super(`analysis budget spent (${cut.reason}) during ${cut.stage}: ${cut.where}`);
  }
}

/** The clock is read every this many units once a run is under way; more often at its start (see spend). */
const TIME_CHECK_EVERY = 4096;

export class Budget {
  private used = 0;
  private sinceTimeCheck = 0;
  /**
   * Units between two looks at the clock: 1 at first, doubling up to TIME_CHECK_EVERY, so a run
   * smaller than one full interval (the example series) still meets a tiny time limit.
   */
  private timeCheckEvery = 1;
  private readonly deadline: number;
  /** Set once, by the first spend() that found the budget gone. */
  cut: BudgetCut | undefined;

  constructor(readonly limits: BudgetLimits = DEFAULT_BUDGET, private readonly now: () => number = () => performance.now()) {
    this.deadline = now() + limits.timeMs;
  }

  /** A budget that never runs out, for callers that have none (tests of a single function). */
  static unlimited(): Budget {
    return new Budget({ timeMs: Number.POSITIVE_INFINITY, work: Number.POSITIVE_INFINITY });
  }

  get workUsed(): number {
    return this.used;
  }

  get exhausted(): boolean {
    return this.cut !== undefined;
  }

  /** Count work; throws BudgetExhausted when the work or the time is gone (and on every call after). */
  spend(units: number, stage: BudgetStage, where: () => string): void {
    if (this.cut) throw new BudgetExhausted(this.cut);
    this.used += units;
    this.sinceTimeCheck += units;
    let reason: 'time' | 'work' | undefined;
    if (this.used > this.limits.work) reason = 'work';
    else if (this.sinceTimeCheck >= this.timeCheckEvery) {
      this.sinceTimeCheck = 0;
      this.timeCheckEvery = Math.min(TIME_CHECK_EVERY, this.timeCheckEvery * 2);
      if (this.now() > this.deadline) reason = 'time';
    }
    if (reason) {
      this.cut = { stage, where: where(), reason };
      throw new BudgetExhausted(this.cut);
    }
  }

  /** The note a report carries when the budget cut the analysis. */
  describeCut(): string | undefined {
    const c = this.cut;
    if (!c) return undefined;
    const t = this.limits.timeMs;
    const limit = c.reason === 'time' ? `${t < 1000 ? `${Math.round(t)} ms` : `${Math.round(t / 1000)} s`} of time` : `${this.limits.work} work units`;
    return `the analysis budget (${limit}) ran out while ${STAGE_WORDS[c.stage]} (${c.where}); what was found before that is reported, the rest was not analysed (raise it with ${c.reason === 'time' ? '--budget-time' : '--budget-work'})`;
  }
}

/** Whether a finding's message is the note of a spent budget: such a report is partial and not worth keeping. */
export function isBudgetNote(message: string): boolean {
  return message.startsWith('the analysis budget (');
}

const STAGE_WORDS: Record<BudgetStage, string> = {
  read: 'reading the input',
  parse: 'parsing',
  merge: 'merging hunks into functions',
  lower: 'lowering C into the analysis form',
  simulate: 'simulating',
};
