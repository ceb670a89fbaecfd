// One guest instance in a worker thread (see workers.ts). Posts its WorkerResult and exits.
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Sandbox } from './runtime.js';
import { attach } from './component/load.js';
import { TRAP_STATUS, type WorkerResult } from './workers.js';

const d = workerData;
let result: WorkerResult;
let sandbox: Sandbox | null = null;
try {
  sandbox = new Sandbox({
    args: d.args, env: d.env, preopens: d.preopens, listen: d.listen, grant: d.grant, connect: d.connect, stopFlag: d.stopFlag, sockets: d.sockets,
    maxFds: d.maxFds, ownedFds: d.owned,
    ...(d.trace !== undefined ? { trace: (line: string) => { writeSync(d.trace, `[worker ${d.worker}] ${line}`); } } : {}),
    ...(d.tracePort !== undefined ? { trace: (line: string) => { d.tracePort.postMessage(line); } } : {}),
    ...(d.stopNotice !== undefined ? { stopNotice: d.stopNotice } : {}),
    ...(d.stdin !== undefined ? { stdin: d.stdin } : {}),
    ...(d.stdout !== undefined ? { stdout: d.stdout } : {}),
    ...(d.stderr !== undefined ? { stderr: d.stderr } : {}),
  });
  if (d.component !== undefined) {
    result = { status: sandbox.startComponent(await attach(d.component.glue, d.component.modules)) };
  } else {
    result = { status: sandbox.start(d.module) };
  }
} catch (e) {
  result = e instanceof WebAssembly.RuntimeError
    ? { status: TRAP_STATUS, trap: e.message }
    : { status: 1, error: e instanceof Error ? `${d.module instanceof WebAssembly.Module && e instanceof WebAssembly.LinkError ? 'cannot instantiate the module: ' : ''}${e.message}` : String(e) };
} finally {
  sandbox?.close();
}
parentPort!.postMessage(result);
