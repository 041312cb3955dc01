/**
 * Runs units of work one at a time, in the order asked: the daemon's ticks and collections and
 * the actions asked for while it runs (the desk, the control socket) never overlap.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined); // a failed unit does not stop the next
    return result;
  }
}
