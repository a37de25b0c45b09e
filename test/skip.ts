// Visible skips: a skipped test's title is all that vitest reports of it, so a test that needs something the
// machine may lack says in its title, when it is skipped, what was missing.

/** `title`, or `title (skipped: reason)` when `available` is false. */
export const titleNeeding = (available: unknown, title: string, reason: string): string => (available ? title : `${title} (skipped: ${reason})`);
