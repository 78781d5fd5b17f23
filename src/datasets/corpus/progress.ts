/**
 * What the corpus recipes share while they run: a progress line at most every
 * so many seconds, and figures rounded for their reports.
 */

/**
 * A logger of `line()` that writes at most once per `seconds`, unless forced
 * (the last line of a run). `line` is only called when a line is written.
 */
export function throttledProgress(seconds: number, log: (line: string) => void, line: () => string): (force: boolean) => void {
  let last = Date.now();
  return (force) => {
    const now = Date.now();
    if (!force && now - last < seconds * 1000) return;
    last = now;
    log(line());
  };
}

/** Three decimals, for figures in a recipe's report. */
export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
