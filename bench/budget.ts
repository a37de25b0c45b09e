// The run's --budget (options.ts): the sections after the table's, the cold start and the host split, are fresh
// processes row by row and none of issue #11's targets, so under a budget a row starts only while the run is
// within it, and a child still running when it ends is stopped (the PyTorch child too, which runs before them).
// A slow run (the GPU script has 8 minutes in one device call) then still ends with its table, its JSON and its
// targets, where a killed one would leave neither: a child's own timeout (a minute on a GPU) no longer carries a
// row that started just inside the budget past its end.

/** A gate for one section's rows: true while `seconds()` (by default since the process started) is under
 * `budget` or there is none; the first time it says no, `onSpent` gets a note naming what was left out. */
export function budgetGate(budget: number | null, section: string, onSpent: (note: string) => void, seconds = () => performance.now() / 1000): () => boolean {
  let told = false;
  return () => {
    if (budget === null || seconds() < budget) return true;
    if (!told) onSpent(`--budget ${budget} s was spent: the ${section}'s remaining rows were not run`);
    told = true;
    return false;
  };
}

/** Milliseconds left of `budget` (Infinity where there is none, 0 once spent): the longest a child started now may run. */
export function budgetLeftMs(budget: number | null, seconds = () => performance.now() / 1000): number {
  return budget === null ? Infinity : Math.max(0, (budget - seconds()) * 1000);
}

/** A child's timeout: its own, or the budget's remainder where that is shorter (`byBudget`, so that its row can say
 * why it was stopped). */
export function childTimeout(timeoutMs: number, budgetLeft?: () => number): { timeoutMs: number; byBudget: boolean } {
  const left = budgetLeft?.() ?? Infinity;
  // Whole milliseconds, as spawn takes them, and at least 1: a zero timeout is none (spawn's default).
  return left < timeoutMs ? { timeoutMs: Math.max(1, Math.floor(left)), byBudget: true } : { timeoutMs, byBudget: false };
}

/** A child's failure as its row says it, with why where the budget's end stopped it. */
export function childFailure(e: unknown, timeout: { byBudget: boolean }): string {
  return (e as Error).message + (timeout.byBudget ? ' (the end of --budget)' : '');
}
