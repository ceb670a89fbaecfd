// wasi:random: random, insecure and insecure-seed, all from the kernel's CSPRNG through Node.
// A guest chooses how many bytes it asks for: past MAX_RANDOM the call traps rather than make
// the host allocate whatever the guest named.
import { randomFillSync } from 'node:crypto';
import { componentTrap } from './host.js';

export const MAX_RANDOM = 64 << 20;
const u64 = new BigUint64Array(2);

function bytes(len: bigint): Uint8Array {
  if (len > BigInt(MAX_RANDOM)) componentTrap(`wasi:random: ${len} bytes asked for at once (at most ${MAX_RANDOM})`);
  return randomFillSync(new Uint8Array(Number(len)));
}

function nextU64(): bigint {
  randomFillSync(u64);
  return u64[0];
}

export function random() {
  return {
    'wasi:random/random': { getRandomBytes: bytes, getRandomU64: nextU64 },
    'wasi:random/insecure': { getInsecureRandomBytes: bytes, getInsecureRandomU64: nextU64 },
    'wasi:random/insecure-seed': { insecureSeed: (): [bigint, bigint] => { randomFillSync(u64); return [u64[0], u64[1]]; } },
  };
}
