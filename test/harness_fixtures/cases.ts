// Suites that misbehave on purpose, one per file name given in HARNESS_CASE, for
// test/harness.test.ts, which runs each in its own uvu process and reads what it printed.
// Not matched by npm test's pattern (it ends in .test.js); never run on their own.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { suite } from '../helpers/suite.js';

const which = process.env.HARNESS_CASE;
const forever = () => new Promise<void>(() => { setInterval(() => {}, 1000); });

if (which === 'passing') {
  const s = suite('passing');
  s.before(() => {});
  s('one', () => {});
  s('two', async () => {});
  s.after(() => {});
  s.run();
} else if (which === 'failing-before') {
  const s = suite('failing-before');
  s.before(() => { throw new Error('setup exploded'); });
  s('first', () => {});
  s('second', () => {});
  s.run();
} else if (which === 'failing-async-before') {
  const s = suite('failing-async-before');
  s.before(async () => { await Promise.resolve(); throw new Error('async setup exploded'); });
  s('only test', () => {});
  s.run();
} else if (which === 'failing-after') {
  const s = suite('failing-after');
  s('passes', () => {});
  s.after(() => { throw new Error('cleanup exploded'); });
  s.run();
} else if (which === 'async-hang') {
  const s = suite('async-hang');
  s('waits for ever', forever, { timeout: 300 });
  s('still runs afterwards', () => {});
  s.run();
} else if (which === 'hanging-before') {
  const s = suite('hanging-before', { timeout: 300 });
  s.before(forever);
  s('needs the setup', () => {});
  s.run();
} else if (which === 'sync-block') {
  const s = suite('sync-block');
  s('blocks the thread', () => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); }, { timeout: 200 });
  s.run();
} else if (which === 'blocked-worker' || which === 'blocked-worker-passing') {
  // A worker thread blocked in read(2) on a pipe nobody writes, as a guest whose stop did not
  // reach it: process.exit() would wait for it without end.
  const s = suite(which);
  s('leaves a worker blocked in a system call', async () => {
    const koffi = `require(${JSON.stringify(createRequire(import.meta.url).resolve('koffi'))})`;
    const w = new Worker(`const libc = ${koffi}.load('libc.so.6');
      const fds = [0, 0]; libc.func('int pipe(_Out_ int *fds)')(fds);
      require('node:worker_threads').parentPort.postMessage('blocking');
      libc.func('long read(int, void *, size_t)')(fds[0], Buffer.alloc(1), 1);`, { eval: true });
    await new Promise((resolve) => w.once('message', resolve));
    if (which === 'blocked-worker') await forever();
  }, { timeout: 3000 });
  s.run();
} else if (which === 'no-tests') {
  suite('no-tests').run();
} else if (which === 'never-run') {
  const s = suite('never-run');
  s('registered', () => {});
} else if (which === 'only') {
  const s = suite('only');
  s.only('focused', () => {});
  s.run();
} else {
  throw new Error(`HARNESS_CASE ${which} is not a case`);
}
