// `--tcp-congestion=NAME`: the bench in a network namespace of its own whose TCP uses NAME.
//
// Every section moves its bytes over loopback, and the congestion control the kernel picks for
// a new socket (net.ipv4.tcp_congestion_control, tcp(7)) shapes all of it: with BBR, which
// paces every flow (tcp_bbr.c), a 1 GiB proxied stream here ran at a third of its speed with
// cubic, and the proxies' ratios to each other moved with it. The bench always measures the
// machine as it is and says which algorithm that was; this option measures it again under
// another algorithm without touching the machine's setting: the sysctl is per network namespace
// (since Linux 4.15), so the bench runs again inside a new one (unshare(1): `-n`, and as
// another user than root `-r` too, a user namespace of its own that may create it), brings its
// loopback up (ip(8)) and sets NAME there. The namespace, and the setting, end with the run.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const SYSCTL = '/proc/sys/net/ipv4/tcp_congestion_control';
/** Set in the bench run inside the namespace: which algorithm it was started for. */
const INSIDE = 'WZC_BENCH_TCP_CONGESTION';

/** The algorithm new TCP sockets of this network namespace use. */
export function congestionControl(): string {
  return readFileSync(SYSCTL, 'utf8').trim();
}

function fail(message: string): never {
  process.stderr.write(`bench: --tcp-congestion: ${message}\n`);
  process.exit(2);
}

/**
 * With `--tcp-congestion=NAME`: outside the namespace, runs this bench again inside a new one
 * and exits with its status (never returns); inside, prepares the namespace. Returns how the
 * algorithm in force was chosen, for the bench's first lines.
 */
export function tcpCongestion(argv: string[]): string {
  const name = argv.find((a) => a.startsWith('--tcp-congestion='))?.slice('--tcp-congestion='.length);
  if (name === undefined) return `${congestionControl()} (the machine's, ${SYSCTL})`;
  if (!/^[a-z0-9_]+$/.test(name)) fail(`"${name}" is not an algorithm's name (see /proc/sys/net/ipv4/tcp_available_congestion_control)`);
  if (process.env[INSIDE] !== name) {
    const root = process.getuid?.() === 0;
    const r = spawnSync('unshare', [root ? '-n' : '-rn', process.execPath, ...process.argv.slice(1)], {
      stdio: 'inherit', env: { ...process.env, [INSIDE]: name },
    });
    if (r.error) fail(`cannot run unshare(1) (util-linux): ${r.error.message}`);
    process.exit(r.status ?? 1);
  }
  const up = spawnSync('ip', ['link', 'set', 'lo', 'up'], { encoding: 'utf8' });
  if (up.error || up.status !== 0) fail(`cannot bring the namespace's loopback up with ip(8) (iproute2): ${up.error?.message ?? up.stderr.trim()}`);
  try {
    writeFileSync(SYSCTL, name);
  } catch (e) {
    fail(`the kernel refused "${name}" (${(e as Error).message}); available: ${readFileSync(SYSCTL.replace('congestion_control', 'available_congestion_control'), 'utf8').trim()}`);
  }
  return `${congestionControl()} (a network namespace of the bench's own, --tcp-congestion)`;
}
