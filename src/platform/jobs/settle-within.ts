/**
 * The value of `work`, or undefined when it fails or takes longer than `ms`. For shutdown and
 * scrape paths that must not hang on Redis: Bull's connections queue commands while Redis is
 * down (they must, mid-job), so an unbounded await there can wait forever.
 */
export function settleWithin<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    work.then(resolve, () => resolve(undefined)).finally(() => clearTimeout(timer));
  });
}
