// An interpreter of small poll_oneoff scripts for test/wasi_poll.test.ts. Each argument is one
// operation; descriptors live in named slots. Every poll prints its errno, then each event
// (sorted by userdata, which is the subscription's position from 1) on its own line, then the
// time it took on a separate `elapsed_ns=` line, so that the test can assert exact events and
// only lower bounds on time.
//   fd SLOT N                    names descriptor N (granted by the host, stdio, or not held)
//   pipe P                       zerocopy.pipe: slots P.r and P.w
//   write SLOT TEXT | close SLOT | read SLOT N
//   open SLOT FILE               path_open beneath descriptor 3 with the one right fd_read
//   revoke SLOT                  drops poll_fd_readwrite with fd_fdstat_set_rights
//   raise SIG                    proc_raise(SIG), then prints `raise returned E`
//   echo TEXT                    prints TEXT (shows that the guest went on)
//   poll SUB SUB ...             one poll_oneoff; SUB is one of
//       r:SLOT  w:SLOT           fd_read / fd_write
//       rel:CLOCK:NS             a relative clock; CLOCK is realtime, monotonic, process, thread or a number
//       abs:CLOCK:NS             an absolute clock, NS from now (read on that clock just before)
//       type:T                   a subscription of event type T (3 and up are not types)
//   poll0                        poll_oneoff with no subscriptions
//   many N EVERY                 N pipes, a byte in every EVERY-th; one poll over all N read
//                                ends; prints how many events came, and how many were wrong
import {
  clock_time_get, fd_close, fd_fdstat_get, fd_fdstat_set_rights, fd_read, fd_write, fdstat, path_open, poll_oneoff,
  proc_raise,
} from "bindings/wasi_snapshot_preview1";
import { pipe } from "../zerocopy/bindings";

const SUB: u32 = 48, EVENT: u32 = 32;
const POLL_FD_READWRITE: u64 = 1 << 27, FD_READ: u64 = 1 << 1;
const USERDATA_HIGH: u64 = 0xabcd_0000_0000_0000; // proves all 64 bits of userdata come back
const slots = new Map<string, u32>();
const ret = memory.data(16);
const nevents = memory.data(4);
const clockRet = memory.data(8);
const iov = memory.data(8);
const buf = memory.data(4096);
const stat = memory.data(24);

function out(s: string): void { process.stdout.write(s + "\n"); }
function slot(name: string): u32 { return slots.has(name) ? slots.get(name) : 1000; }
function nowNs(clock: u32): u64 {
  clock_time_get(clock, 0, clockRet);
  return load<u64>(clockRet);
}
function clockId(name: string): u32 {
  if (name == "realtime") return 0;
  if (name == "monotonic") return 1;
  if (name == "process") return 2;
  if (name == "thread") return 3;
  return U32.parseInt(name);
}
function setupFailed(what: string, e: u16): void {
  out("setup: " + what + ": errno " + e.toString());
  process.exit(2);
}

/** Fills subscription i at `subs` from its text form. */
function subscribe(subs: usize, i: u32, spec: string): void {
  const s = subs + i * SUB;
  memory.fill(s, 0, SUB);
  store<u64>(s, USERDATA_HIGH | <u64>(i + 1));
  const p = spec.split(":");
  if (p[0] == "r" || p[0] == "w") {
    store<u8>(s, p[0] == "r" ? 1 : 2, 8);
    store<u32>(s, slot(p[1]), 16);
  } else if (p[0] == "rel" || p[0] == "abs") {
    const clock = clockId(p[1]);
    const ns = U64.parseInt(p[2]);
    store<u8>(s, 0, 8);
    store<u32>(s, clock, 16);
    store<u64>(s, p[0] == "abs" ? nowNs(clock) + ns : ns, 24);
    store<u16>(s, p[0] == "abs" ? 1 : 0, 40);
  } else {
    store<u8>(s, U8.parseInt(p[1]), 8);
  }
}

function printEvent(e: usize): void {
  const u = load<u64>(e);
  out("event u=" + ((u & USERDATA_HIGH) == USERDATA_HIGH ? (u & 0xffff_ffff).toString() : "corrupt:" + u.toString()) +
    " type=" + load<u8>(e, 10).toString() + " error=" + load<u16>(e, 8).toString() +
    " nbytes=" + load<u64>(e, 16).toString() + " flags=" + load<u16>(e, 24).toString());
}

/** Prints the events in the order of their subscriptions (userdata), then any unknown ones. */
function printEvents(events: usize, got: u32, n: u32): void {
  for (let u: u64 = 1; u <= <u64>n; u++) {
    for (let k: u32 = 0; k < got; k++) if (load<u64>(events + k * EVENT) == (USERDATA_HIGH | u)) printEvent(events + k * EVENT);
  }
  for (let k: u32 = 0; k < got; k++) {
    const u = load<u64>(events + k * EVENT);
    if ((u & USERDATA_HIGH) != USERDATA_HIGH || (u & 0xffff_ffff) == 0 || (u & 0xffff_ffff) > <u64>n) printEvent(events + k * EVENT);
  }
}

function doPoll(specs: string[]): void {
  const n = <u32>specs.length;
  // heap.alloc, not an ArrayBuffer: the collector would free a buffer held only by address.
  const subs = heap.alloc(n * SUB);
  const events = heap.alloc(n * EVENT);
  // Timed from before the subscriptions are filled, so that an absolute clock's wait is
  // wholly inside the time measured.
  const t0 = nowNs(1);
  for (let i: u32 = 0; i < n; i++) subscribe(subs, i, specs[i]);
  const e = poll_oneoff(subs, events, n, nevents);
  const elapsed = nowNs(1) - t0;
  const got = e == 0 ? load<u32>(nevents) : 0;
  out("poll errno=" + e.toString() + " n=" + got.toString());
  printEvents(events, got, n);
  out("elapsed_ns=" + elapsed.toString());
  heap.free(subs);
  heap.free(events);
}

function many(n: u32, every: u32): void {
  // heap.alloc, not an ArrayBuffer: the collector would free a buffer held only by address.
  const subs = heap.alloc(n * SUB);
  const events = heap.alloc(n * EVENT);
  const ends = new Array<u32>();
  store<u8>(buf, 0x78);
  for (let i: u32 = 0; i < n; i++) {
    const e = pipe(0, ret);
    if (e != 0) setupFailed("pipe " + i.toString(), e);
    const r = load<u32>(ret), w = load<u32>(ret, 4);
    ends.push(r);
    ends.push(w);
    if (i % every == 0) {
      store<u32>(iov, <u32>buf);
      store<u32>(iov, 1, 4);
      fd_write(w, iov, 1, ret);
    }
    const s = subs + i * SUB;
    memory.fill(s, 0, SUB);
    store<u64>(s, <u64>i);
    store<u8>(s, 1, 8);
    store<u32>(s, r, 16);
  }
  const e = poll_oneoff(subs, events, n, ret);
  const got = e == 0 ? load<u32>(ret) : 0;
  let wrong: u32 = 0;
  for (let k: u32 = 0; k < got; k++) {
    const ev = events + k * EVENT;
    const i = <u32>load<u64>(ev);
    if (i % every != 0 || load<u16>(ev, 8) != 0 || load<u8>(ev, 10) != 1 || load<u64>(ev, 16) != 1) wrong++;
  }
  for (let k = 0; k < ends.length; k++) fd_close(ends[k]);
  heap.free(subs);
  heap.free(events);
  out("many errno=" + e.toString() + " events=" + got.toString() + " wrong=" + wrong.toString());
}

const argv = process.argv;
for (let i = 1; i < argv.length; i++) {
  const a = argv[i].split(" ");
  const op = a[0];
  if (op == "fd") {
    slots.set(a[1], U32.parseInt(a[2]));
  } else if (op == "pipe") {
    const e = pipe(0, ret);
    if (e != 0) setupFailed("pipe", e);
    slots.set(a[1] + ".r", load<u32>(ret));
    slots.set(a[1] + ".w", load<u32>(ret, 4));
  } else if (op == "write") {
    const t = String.UTF8.encode(a[2]);
    store<u32>(iov, <u32>changetype<usize>(t));
    store<u32>(iov, t.byteLength, 4);
    const e = fd_write(slot(a[1]), iov, 1, ret);
    if (e != 0) setupFailed("write", e);
  } else if (op == "read") {
    store<u32>(iov, <u32>buf);
    store<u32>(iov, U32.parseInt(a[2]), 4);
    const e = fd_read(slot(a[1]), iov, 1, ret);
    out("read errno=" + e.toString() + " n=" + (e == 0 ? load<u32>(ret).toString() : "0"));
  } else if (op == "close") {
    fd_close(slot(a[1]));
  } else if (op == "open") {
    const p = String.UTF8.encode(a[2]);
    const e = path_open(3, 0, changetype<usize>(p), p.byteLength, 0, FD_READ, 0, 0, ret);
    if (e != 0) setupFailed("open " + a[2], e);
    slots.set(a[1], load<u32>(ret));
  } else if (op == "echo") {
    out(a.slice(1).join(" "));
  } else if (op == "raise") {
    out("raise returned " + proc_raise(U8.parseInt(a[1])).toString());
  } else if (op == "revoke") {
    let e = fd_fdstat_get(slot(a[1]), changetype<fdstat>(stat));
    if (e == 0) e = fd_fdstat_set_rights(slot(a[1]), load<u64>(stat, 8) & ~POLL_FD_READWRITE, load<u64>(stat, 16));
    if (e != 0) setupFailed("revoke", e);
  } else if (op == "poll") {
    doPoll(a.slice(1));
  } else if (op == "poll0") {
    out("poll errno=" + poll_oneoff(buf, buf + 2048, 0, ret).toString());
  } else if (op == "many") {
    many(U32.parseInt(a[1]), U32.parseInt(a[2]));
  } else {
    out("unknown op " + op);
    process.exit(2);
  }
}
