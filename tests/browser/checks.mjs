// SPDX-License-Identifier: LGPL-2.1-or-later
// What every browser test of the project uses: checks that are printed as
// they are made and collected for the verdict, and bounded waits.

// check(ok, what): prints "ok   what" or "FAIL what"; returns ok.
export function checker () {
  const failures = [];
  const check = (ok, what) => {
    console.log((ok ? 'ok   ' : 'FAIL ') + what);
    if (!ok) failures.push(what);
    return ok;
  };
  return { check, failures };
}

// Polls cond() every 50 ms until it holds (its value is returned) or
// timeoutMs pass: polling another process's state, not a sleep that stands
// in for an event.
export async function until (cond, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
