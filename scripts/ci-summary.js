// The closing line of .ci/run, "N passed, N failed, N skipped", from npm test's log and exit
// status, and the status .ci/run exits with. The run fails when npm test failed, when uvu's
// summary is missing (the run died before it: a crash, a watchdog kill, a timeout), when no
// test ran, and when fewer tests passed than ran. uvu prints one summary for the whole run,
// "Total: N" (tests that ran), "Passed: N", "Skipped: N"; the last one in the log is uvu's.
//
// usage: node scripts/ci-summary.js LOG STATUS
import { readFileSync } from 'node:fs';

/** @returns {{ line: string, status: number, why: string | null }} */
export function summarize(log, status) {
  // uvu colours its numbers: strip ANSI escapes before reading them.
  const text = log.replace(/\x1b\[[0-9;]*m/g, '');
  const last = (label) => {
    const all = [...text.matchAll(new RegExp(`^\\s*${label}:\\s+(\\d+)\\s*$`, 'gm'))];
    return all.length ? Number(all[all.length - 1][1]) : null;
  };
  const total = last('Total'), passed = last('Passed'), skipped = last('Skipped') ?? 0;
  let why = null;
  if (total === null || passed === null) why = 'the test run ended without its summary (it did not finish)';
  else if (total === 0) why = 'no test ran';
  else if (passed < total) why = `${total - passed} of ${total} tests failed`;
  else if (status !== 0) why = `npm test exited with status ${status}`;
  const p = passed ?? 0;
  let failed = total === null ? 0 : total - p;
  if (why !== null && failed === 0) failed = 1;
  return { line: `${p} passed, ${failed} failed, ${skipped} skipped`, status: why === null ? 0 : 1, why };
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const [logPath, statusText] = process.argv.slice(2);
  const r = summarize(readFileSync(logPath, 'utf8'), Number(statusText));
  if (r.why !== null) console.log(`ci: failed: ${r.why}`);
  console.log(r.line);
  process.exit(r.status);
}
