// An interpreter of small socket scripts for test/wasi_sock.test.ts. Each argument is one
// operation on descriptors in named slots, and prints one line with the WASI errno it got.
//   fd SLOT N                      names descriptor N (granted by the host, or not held)
//   accept SLOT LISTENER [FLAGS]   sock_accept; FLAGS is the fdflags number (4 = NONBLOCK)
//   send SLOT TEXT                 sock_send of TEXT
//   sendflags SLOT SIFLAGS         sock_send of one byte with si_flags SIFLAGS
//   sendloop SLOT                  64 KiB sends until one fails (a 10 ms pause after each
//                                  success, at most 200 of them): prints the failure's errno
//   recv SLOT N FLAGS [N2]         sock_recv into one N-byte buffer (and a second of N2);
//                                  FLAGS: - | peek | waitall | peek,waitall | a number
//   shutdown SLOT HOW | close SLOT
//   fdstat SLOT                    fd_fdstat_get: filetype and fdflags
//   setflags SLOT FLAGS            fd_fdstat_set_flags
//   waitread SLOT MS               poll_oneoff for readability, with a clock of MS as a guard;
//                                  exits with status 3 if the clock came first
//   waitwrite SLOT MS              poll_oneoff for writability, with a clock of MS as a guard:
//                                  the event's error and whether fd_readwrite_hangup is set
//                                  (a connect that failed); exits with status 3 on the clock
//   echo TEXT                      prints TEXT (marks that the guest is still running)
//   connect SLOT ADDR [FLAGS]      zerocopy sock_connect through the SDK (FLAGS 4 = NONBLOCK)
//   sockerror SLOT                 zerocopy sock_error through the SDK: the pending errno
import {
  fd_close, fd_fdstat_get, fd_fdstat_set_flags, fdstat, poll_oneoff, sock_recv, sock_send, sock_shutdown,
} from "bindings/wasi_snapshot_preview1";
import { sock_accept } from "../wasi/sock";
import { connect, sock_error } from "../zerocopy";

const slots = new Map<string, u32>();
const ret = memory.data(16);
const flagsRet = memory.data(4);
const iov = memory.data(16);
const stat = memory.data(24);
const subs = memory.data(96);
const events = memory.data(64);
const buf = memory.data(65536);

function out(s: string): void { process.stdout.write(s + "\n"); }
function slot(name: string): u32 { return slots.has(name) ? slots.get(name) : 1000; }
function res(op: string, e: u16): string { return op + " errno=" + e.toString(); }

function riflags(s: string): u16 {
  if (s == "-") return 0;
  if (s == "peek") return 1;
  if (s == "waitall") return 2;
  if (s == "peek,waitall") return 3;
  return U16.parseInt(s);
}

function sendBytes(fd: u32, p: usize, n: u32, siflags: u16): u16 {
  store<u32>(iov, <u32>p);
  store<u32>(iov, n, 4);
  return sock_send(fd, iov, 1, siflags, ret);
}

/** Sleeps `ns` on the monotonic clock with poll_oneoff. */
function pause(ns: u64): void {
  memory.fill(subs, 0, 48);
  store<u32>(subs, 1, 16);
  store<u64>(subs, ns, 24);
  poll_oneoff(subs, events, 1, ret);
}

const argv = process.argv;
for (let i = 1; i < argv.length; i++) {
  const a = argv[i].split(" ");
  const op = a[0];
  if (op == "fd") {
    slots.set(a[1], U32.parseInt(a[2]));
  } else if (op == "accept") {
    const e = sock_accept(slot(a[2]), a.length > 3 ? U16.parseInt(a[3]) : 0, ret);
    if (e == 0) slots.set(a[1], load<u32>(ret));
    out(res("accept", e));
  } else if (op == "send") {
    const t = String.UTF8.encode(a.length > 2 ? a[2] : "");
    const e = sendBytes(slot(a[1]), changetype<usize>(t), t.byteLength, 0);
    out(res("send", e) + " n=" + (e == 0 ? load<u32>(ret).toString() : "0"));
  } else if (op == "sendflags") {
    out(res("sendflags", sendBytes(slot(a[1]), buf, 1, U16.parseInt(a[2]))));
  } else if (op == "sendloop") {
    let e: u16 = 0;
    for (let k = 0; k < 200 && e == 0; k++) {
      e = sendBytes(slot(a[1]), buf, 65536, 0);
      if (e == 0) pause(10_000_000);
    }
    out(res("sendloop", e));
  } else if (op == "recv") {
    const n = U32.parseInt(a[2]);
    const n2: u32 = a.length > 4 ? U32.parseInt(a[4]) : 0;
    store<u32>(iov, <u32>buf);
    store<u32>(iov, n, 4);
    store<u32>(iov, <u32>buf + n, 8);
    store<u32>(iov, n2, 12);
    const e = sock_recv(slot(a[1]), iov, a.length > 4 ? 2 : 1, riflags(a[3]), ret, flagsRet);
    const got: u32 = e == 0 ? load<u32>(ret) : 0;
    out(res("recv", e) + " n=" + got.toString() + " roflags=" + (e == 0 ? load<u16>(flagsRet).toString() : "0") +
      " data=" + String.UTF8.decodeUnsafe(buf, got));
  } else if (op == "shutdown") {
    out(res("shutdown", sock_shutdown(slot(a[1]), U8.parseInt(a[2]))));
  } else if (op == "close") {
    out(res("close", fd_close(slot(a[1]))));
  } else if (op == "fdstat") {
    const e = fd_fdstat_get(slot(a[1]), changetype<fdstat>(stat));
    out(res("fdstat", e) + (e == 0 ? " type=" + load<u8>(stat).toString() + " flags=" + load<u16>(stat, 2).toString() : ""));
  } else if (op == "setflags") {
    out(res("setflags", fd_fdstat_set_flags(slot(a[1]), U16.parseInt(a[2]))));
  } else if (op == "waitread" || op == "waitwrite") {
    const write = op == "waitwrite";
    memory.fill(subs, 0, 96);
    store<u64>(subs, 1);
    store<u8>(subs, write ? 2 : 1, 8); // eventtype fd_write : fd_read
    store<u32>(subs, slot(a[1]), 16);
    store<u64>(subs + 48, 2);
    store<u32>(subs + 48, 1, 16);
    store<u64>(subs + 48, U64.parseInt(a[2]) * 1_000_000, 24);
    const e = poll_oneoff(subs, events, 2, ret);
    const ready = e == 0 && load<u64>(events) == 1;
    // event: error at 8, fd_readwrite.flags at 24 (bit 0: fd_readwrite_hangup).
    out(res(op, e) + " ready=" + (ready ? "yes" : "no") + (write && ready
      ? " error=" + load<u16>(events, 8).toString() + " hangup=" + ((load<u16>(events, 24) & 1) != 0 ? "yes" : "no") : ""));
    // Nothing came: stop here rather than block in the next operation for ever.
    if (!ready) process.exit(3);
  } else if (op == "connect") {
    const fd = connect(a[2], a.length > 3 && a[3] == "4");
    if (fd >= 0) slots.set(a[1], <u32>fd);
    out(res("connect", fd < 0 ? <u16>-fd : 0));
  } else if (op == "sockerror") {
    const e = sock_error(slot(a[1]));
    out(e < 0 ? res("sockerror", <u16>-e) : res("sockerror", 0) + " pending=" + e.toString());
  } else if (op == "echo") {
    out(a.slice(1).join(" "));
  } else {
    out("unknown op " + op);
    process.exit(2);
  }
}
