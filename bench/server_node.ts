// The seed server as Node users write it, for the server bench (bench/servers.ts): a `net`
// server piping fs.createReadStream into each socket. Every byte passes through user space.
// Same behaviour as the other servers: the whole file, then our side closed; the connection
// ends when the client closes; one log line per client.
//
// usage: node build/bench/server_node.js PORT FILE
import { createReadStream, statSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';

const [port, file] = process.argv.slice(2);
if (!port || !file) {
  process.stderr.write('usage: server_node PORT FILE\n');
  process.exit(2);
}
const size = statSync(file).size;
let nextId = 1;

const server = createServer((sock) => {
  const id = nextId++, start = process.hrtime.bigint();
  const peer = `${sock.remoteAddress}:${sock.remotePort}`;
  let sent = 0;
  sock.on('error', () => {}); // a peer's reset: the 'close' below logs it
  const stream = createReadStream(file);
  stream.on('data', (d) => { sent += d.length; });
  stream.pipe(sock); // ends our side after the last byte
  sock.on('close', () => {
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    stream.destroy();
    writeSync(1, `client #${id} ${peer}: ${sent === size ? `${sent} bytes` : `aborted after ${sent} bytes`} in ${Math.round(ms * 10) / 10} ms\n`);
  });
});
server.listen({ port: Number(port), host: '127.0.0.1', backlog: 4096 });
