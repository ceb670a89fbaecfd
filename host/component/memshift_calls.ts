// The memory shift's preview1 calls (memshift.ts says why the shift exists): the adapter sees
// the real memory, the module its own addresses, SHIFT bytes lower. Each preview1 import the
// module calls with a pointer is renamed, and a wrapper with its old name translates:
// - every pointer parameter (the witx's, as host/wasi/trace.ts lists them) through $shift_ptr;
// - an iovec or ciovec list (fd_read, fd_write, fd_pread, fd_pwrite, sock_recv, sock_send) is
//   copied into the scratch area at SCRATCH, each buf translated: a list longer than IOV_MAX
//   answers inval and one that does not lie in memory fault, after the descriptor is checked
//   (readv(2): EBADF, then EINVAL for iovcnt > IOV_MAX, then EFAULT; this host's preview1
//   answers the same for a core module); the adapter is not called then;
// - args_get and environ_get: after the call, every pointer the adapter wrote into argv or
//   environ is translated back.
// No other preview1 structure holds a pointer: poll_oneoff's subscriptions and events, prestat,
// fdstat, filestat and fd_readdir's dirents are plain values (wasi_snapshot_preview1.witx).
import { TRACE_PARAMS } from '../wasi/trace.js';
import { IOV_MAX, SCRATCH, SHIFT, SHIFT_PAGES } from './memshift_layout.js';
import { CHECK_DESCRIPTOR, preview1Import, uniqueName } from './module_names.js';

const PREVIEW1 = 'wasi_snapshot_preview1';
type Binaryen = typeof import('binaryen').default;
type Module = InstanceType<Binaryen['Module']>;
/** The calls whose second and third parameters are an iovec list and its length. */
const IOVECS = new Set(['fd_read', 'fd_write', 'fd_pread', 'fd_pwrite', 'sock_recv', 'sock_send']);
/** The calls that write pointers into the module's memory, with the call that counts them. */
const STRING_LISTS: Record<string, string> = { args_get: 'args_sizes_get', environ_get: 'environ_sizes_get' };
const ERRNO_FAULT = 21, ERRNO_INVAL = 28;

interface Target { name: string; base: string; params: number[]; result: number; pointers: number[] }

export function wrapPreview1Calls(b: Binaryen, m: Module, shiftPtr: string): void {
  const targets: Target[] = [];
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const f = b.getFunctionInfo(m.getFunctionByIndex(i));
    if (f.module !== PREVIEW1 || !(f.base! in TRACE_PARAMS)) continue;
    const names = TRACE_PARAMS[f.base!].split(' ').filter(Boolean);
    const params = b.expandType(f.params);
    // Another signature than the witx's is left for wit-component to refuse.
    if (params.length !== names.length || f.results !== b.i32) continue;
    const pointers = names.flatMap((n, k) => (n.startsWith('*') ? [k] : []));
    if (pointers.length > 0) targets.push({ name: f.name, base: f.base!, params, result: f.results, pointers });
  }
  const raw = new Map<string, string>();
  for (const t of targets) {
    // The import keeps its place under a new name; whatever called it reaches the wrapper.
    const name = uniqueName(m, `wasm-zerocopy:shifted:${t.base}`);
    m.removeFunction(t.name);
    m.addFunctionImport(name, PREVIEW1, t.base, b.createType(t.params), t.result);
    raw.set(t.base, name);
  }
  const i32 = b.i32;
  for (const t of targets) {
    const locals = { i: t.params.length, e: t.params.length + 1, p: t.params.length + 2 };
    const get = (k: number) => m.local.get(k, t.params[k] ?? i32);
    const translated = (k: number) => (t.pointers.includes(k) ? m.call(shiftPtr, [get(k)], i32) : get(k));
    const body: number[] = [];
    let args = t.params.map((_, k) => translated(k));
    if (IOVECS.has(t.base)) {
      const check = preview1Import(b, m, CHECK_DESCRIPTOR, [i32, i32], i32);
      body.push(...copyIovecs(b, m, shiftPtr, check, locals));
      args = t.params.map((_, k) => (k === 1 ? m.i32.const(SCRATCH) : translated(k)));
    }
    const call = m.call(raw.get(t.base)!, args, i32);
    const sizes = STRING_LISTS[t.base];
    if (sizes === undefined) {
      body.push(m.return(call));
    } else {
      const count = preview1Import(b, m, sizes, [i32, i32], i32);
      body.push(
        m.if(m.local.tee(locals.e, call, i32), m.return(m.local.get(locals.e, i32))),
        m.if(m.local.tee(locals.e, m.call(count, [m.i32.const(SCRATCH), m.i32.const(SCRATCH + 4)], i32), i32),
          m.return(m.local.get(locals.e, i32))),
        m.local.set(locals.p, translated(0)),
        ...loop(b, m, locals.i, m.i32.load(0, 4, m.i32.const(SCRATCH)), (at) => {
          // argv[i] -= SHIFT, where the adapter wrote argv (4 * i bytes into it). An empty
          // string comes out of jco's glue at address 1 (its utf8Encode answers 1 for "" and
          // calls no realloc), where the adapter then writes the NUL: in the adapter's pages.
          // It gets the buffer's last byte instead, set to NUL: the buffer is as long as
          // args_sizes_get said, one byte a string more than the strings, and the adapter
          // writes the others from its start, so an empty string leaves its byte at the end.
          const slot = () => m.i32.add(m.local.get(locals.p, i32), m.i32.shl(at(), m.i32.const(2)));
          const last = (base: number) => m.i32.add(base, m.i32.sub(m.i32.load(0, 4, m.i32.const(SCRATCH + 4)), m.i32.const(1)));
          return [
            m.local.set(locals.e, m.i32.load(0, 4, slot())),
            m.if(m.i32.lt_u(m.local.get(locals.e, i32), m.i32.const(SHIFT)),
              m.block(null, [
                m.i32.store8(0, 1, last(translated(1)), m.i32.const(0)),
                m.i32.store(0, 4, slot(), last(get(1))),
              ]),
              m.i32.store(0, 4, slot(), m.i32.sub(m.local.get(locals.e, i32), m.i32.const(SHIFT)))),
          ];
        }),
        m.return(m.i32.const(0)),
      );
    }
    m.addFunction(t.name, b.createType(t.params), t.result, [i32, i32, i32], m.block(null, body, b.auto));
  }
}

/**
 * Checks the list (fd, iovs, iovs_len: parameters 0, 1, 2) and copies it to SCRATCH with each
 * buf translated. Errors answer as readv(2) orders them, the descriptor first.
 */
function copyIovecs(b: Binaryen, m: Module, shiftPtr: string, check: string, locals: { i: number; e: number }): number[] {
  const i32 = b.i32;
  const fd = () => m.local.get(0, i32), iovs = () => m.local.get(1, i32), n = () => m.local.get(2, i32);
  const fail = (errno: number) => m.block(null, [
    m.if(m.local.tee(locals.e, m.call(check, [fd(), fd()], i32), i32), m.return(m.local.get(locals.e, i32))),
    m.return(m.i32.const(errno)),
  ]);
  // The module's memory in bytes: the real one less the adapter's pages.
  const size = m.i64.shl(m.i64.extend_u(m.i32.sub(m.memory.size(), m.i32.const(SHIFT_PAGES))), m.i64.const(16, 0));
  const end = m.i64.add(m.i64.extend_u(iovs()), m.i64.mul(m.i64.extend_u(n()), m.i64.const(8, 0)));
  return [
    m.if(m.i32.gt_u(n(), m.i32.const(IOV_MAX)), fail(ERRNO_INVAL)),
    m.if(m.i64.gt_u(end, size), fail(ERRNO_FAULT)),
    ...loop(b, m, locals.i, n(), (at) => {
      const from = () => m.i32.add(iovs(), m.i32.shl(at(), m.i32.const(3)));
      const to = () => m.i32.add(m.i32.const(SCRATCH), m.i32.shl(at(), m.i32.const(3)));
      // The list lies in the module's memory (checked above): its entries SHIFT bytes up.
      return [
        m.i32.store(0, 4, to(), m.call(shiftPtr, [m.i32.load(SHIFT, 4, from())], i32)),
        m.i32.store(4, 4, to(), m.i32.load(SHIFT + 4, 4, from())),
      ];
    }),
  ];
}

/** for (i = 0; i < count; i++) body(i); `count` is evaluated at every turn. */
function loop(b: Binaryen, m: Module, i: number, count: number, body: (at: () => number) => number[]): number[] {
  const i32 = b.i32;
  const label = `wasm-zerocopy:loop${i}`;
  const at = () => m.local.get(i, i32);
  return [
    m.local.set(i, m.i32.const(0)),
    m.loop(label, m.if(m.i32.lt_u(at(), count), m.block(null, [
      ...body(at),
      m.local.set(i, m.i32.add(at(), m.i32.const(1))),
      m.br(label),
    ]))),
  ];
}
