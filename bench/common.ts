// What the bench's sections share: rounds in rotating order, medians, paired ratios, and
// compiling the C programs (baselines and load generators) at bench time.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The cases in round `r`'s order: rotated by r. */
function rotated<T>(xs: T[], r: number): T[] {
  const k = r % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

/**
 * Runs every case once per round in rotating order; returns each case's samples by round.
 * A first round is discarded: it pays for V8 tiering up the guest and the import functions.
 */
export async function rounds<T = number>(n: number, cases: Record<string, () => T | Promise<T>>): Promise<Record<string, T[]>> {
  const samples: Record<string, T[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (const name of Object.keys(cases)) await cases[name]();
  for (let r = 0; r < n; r++) {
    for (const name of rotated(Object.keys(cases), r)) samples[name].push(await cases[name]());
  }
  return samples;
}

/** Median over rounds of case / baseline, each round's pair measured close together. */
export function pairedRatio(xs: number[], base: number[]): number {
  return median(xs.map((x, i) => x / base[i]));
}

/** "min-max" of samples, divided by scale. */
export const spread = (xs: number[], scale: number): string =>
  `${(Math.min(...xs) / scale).toFixed(0)}-${(Math.max(...xs) / scale).toFixed(0)}`;

/** Compiles bench/c/NAME.c with cc into dir; null when there is no C compiler at all. */
export function compileC(dir: string, name: string): string | null {
  const exe = join(dir, name);
  try {
    execFileSync('cc', ['-O2', join(ROOT, 'bench', 'c', `${name}.c`), '-o', exe], { stdio: 'pipe' });
    return exe;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') return null;
    throw new Error(`cc bench/c/${name}.c failed: ${err.stderr?.toString().trim() ?? err.message}`);
  }
}
