// Waking a guest's thread out of a system call it waits in, for a stop. A worker's guest may
// be inside read(2), accept(2), sendfile(2)... on a blocking descriptor, past any check of the
// stop flag: worker.terminate() cannot interrupt native code, and the waits that poll in
// slices (io.ts) cover only what the host waits for itself. A signal sent to that one thread
// (tgkill(2)) whose handler was installed without SA_RESTART makes the call return EINTR, or
// the count it had moved (signal(7), "Interruption of system calls and library functions by
// signal handlers"); the call then sees the stop flag.
//
// The signal is SIGURG: its default action is to be ignored, so a process where the handler
// could not be installed loses nothing, and nothing in Node uses it. The handler must be C
// (no JavaScript can run in a signal handler) and do nothing: libc's abs(3), a function of one
// int that touches nothing else.
import * as libc from '../native/libc.js';

const SIGURG = 23; // the same on x86-64 and arm64 (asm-generic/signal.h)
/** glibc's struct sigaction: handler @0, sa_mask @8 (128 bytes), sa_flags @136, restorer @144. */
const SIGACTION_SIZE = 152;
const SIG_DFL = 0n, SIG_IGN = 1n;

let installed: boolean | null = null;

/**
 * Installs the handler, once per process (a disposition is the process's). Leaves SIGURG alone
 * if someone else handles it; then stops reach waits in the kernel only through the slices.
 */
export function installInterrupt(): boolean {
  if (installed !== null) return installed;
  const handler = libc.symbolAddress('abs');
  const old = Buffer.alloc(SIGACTION_SIZE);
  if (handler === 0n || libc.sigaction(SIGURG, null, old) < 0) return (installed = false);
  const current = old.readBigUInt64LE(0);
  if (current === handler) return (installed = true); // another thread of this process did it
  if (current !== SIG_DFL && current !== SIG_IGN) return (installed = false);
  const act = Buffer.alloc(SIGACTION_SIZE); // empty sa_mask; sa_flags 0: no SA_RESTART
  act.writeBigUInt64LE(handler, 0);
  return (installed = libc.sigaction(SIGURG, act, null) === 0);
}

/** The calling thread's id, for interrupt(). */
export const threadId = (): number => libc.gettid();

/** Makes the system call thread `tid` of this process waits in, if any, return EINTR. */
export function interrupt(tid: number): void {
  libc.tgkill(process.pid, tid, SIGURG);
}

/**
 * Asks the guest that watches `flag` to stop, from any thread: stores the signal, then
 * interrupts the thread the guest runs on, if it has said which (flag[1], see Sandbox.start).
 */
export function requestStop(flag: Int32Array, signal: number): void {
  Atomics.store(flag, 0, signal);
  const tid = flag.length > 1 ? Atomics.load(flag, 1) : 0;
  if (tid > 0 && tid !== threadId()) interrupt(tid);
}
