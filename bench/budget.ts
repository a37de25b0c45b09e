// The run's --budget (options.ts): the sections after the table's, the cold start and the host split, are fresh
// processes row by row and none of issue #11's targets, so under a budget a row starts only while the run is
// within it. A slow run (the GPU script has 8 minutes in one device call) then still ends with its table, its
// JSON and its targets, where a killed one would leave neither.

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
