// The descriptors this process holds, for leak checks that start a suite. The harness's
// watchdog thread (helpers/suite.ts) is started by the first hook or test that runs, and its
// event loop opens descriptors of its own (an epoll, an eventfd, a pipe) a moment later: a
// snapshot taken in that moment would blame the suite for them. So this waits until the set
// has stayed the same for a few polls (one second at most) before it is taken.
import { setTimeout as sleep } from 'node:timers/promises';
import { openFds } from './guest.js';

export async function settledFds(): Promise<string[]> {
  let last = openFds();
  for (let same = 0, i = 0; same < 5 && i < 100; i++) {
    await sleep(10);
    const now = openFds();
    same = now.join() === last.join() ? same + 1 : 0;
    last = now;
  }
  return last;
}
