// The one way a test waits for something: poll a condition with a deadline, and fail with what
// was awaited when the deadline passes (issue 10: every wait has a deadline, none is a sleep).

/** Polls `check` every 10 ms until it returns a truthy value, which it returns; after `ms`, throws. */
export async function waitFor<T>(what: string, check: () => T, ms = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
