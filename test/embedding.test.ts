// README's run() example, verbatim but for the port, so that the documentation cannot rot.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { download, freePort } from './helpers/clients.js';
import { join } from 'node:path';
import { run } from '../host/index.js';
import { GUESTS, ROOT } from './helpers/guest.js';

const test = suite('the embedding API: run() and stop()');

test("README's run() example serves two clients from two workers without blocking the event loop", async () => {
  const port = freePort();
  const file = openSync(join(ROOT, 'examples', 'hello.txt'), 'r');
  const log = openSync('/dev/null', 'w');
  try {
    const module = new WebAssembly.Module(readFileSync(join(GUESTS, 'send_file.wasm')));
    const running = run(module, {
      workers: 2,
      args: ['send_file', '--max-clients', '1'],
      listen: [`127.0.0.1:${port}`],
      grant: [file],
      stdout: log,
    });
    // run() returned while the guests wait for clients; the event loop must now run JavaScript
    // while they are alive: a callback scheduled now runs before they end (each ends only
    // after a client, and the clients below need this same event loop).
    let ended = false;
    void running.then(() => { ended = true; });
    const ranWhileServing = await new Promise<boolean>((resolve) => setImmediate(() => resolve(!ended)));
    assert.ok(ranWhileServing, 'the event loop ran JavaScript while the guests were serving');
    const [a, b] = (await Promise.all([download(port), download(port)])).map(String);
    const hello = readFileSync(join(ROOT, 'examples', 'hello.txt'), 'utf8');
    assert.is(a, hello);
    assert.is(b, hello);
    assert.equal(await running, [0, 0]);
  } finally {
    closeSync(file);
    closeSync(log);
  }
});

test('stop() ends guests that would otherwise run for ever, at their next call', async () => {
  const file = openSync(join(ROOT, 'examples', 'hello.txt'), 'r');
  try {
    const running = run(new WebAssembly.Module(readFileSync(join(GUESTS, 'send_file.wasm'))), {
      workers: 2, args: ['send_file'], listen: ['127.0.0.1:0'], grant: [file], stdout: null,
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await running.stop(15), [143, 143]);
  } finally {
    closeSync(file);
  }
});

test.run();
