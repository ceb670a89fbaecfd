// The proxy as Node users write it, for the proxy bench (bench/proxy.ts): a `net` server that
// connects to the upstream for every client and pipes the two sockets into each other. Every
// byte passes through user space. Half-close passes through (allowHalfOpen: a FIN ends the
// other side's writable half when its readable half ends, as stream.pipe does); an error on
// either side destroys both.
//
// usage: node build/bench/proxy_node.js PORT UPSTREAM_PORT
import { connect, createServer } from 'node:net';

const [port, upstreamPort] = process.argv.slice(2).map(Number);
if (!port || !upstreamPort) {
  process.stderr.write('usage: proxy_node PORT UPSTREAM_PORT\n');
  process.exit(2);
}

createServer({ allowHalfOpen: true }, (client) => {
  const upstream = connect({ port: upstreamPort, host: '127.0.0.1', allowHalfOpen: true });
  const fail = () => { client.destroy(); upstream.destroy(); };
  client.on('error', fail);
  upstream.on('error', fail);
  client.pipe(upstream);
  upstream.pipe(client);
}).listen({ port, host: '127.0.0.1', backlog: 4096 });
