// The Node static server of the HTTP bench (bench/http.ts): sirv, as a Node user serves a
// folder, on node:http. Files go through user space (fs.createReadStream piped into the socket).
//
// usage: node build/bench/http_sirv.js PORT DIR
import { createServer } from 'node:http';
import sirv from 'sirv';

const [port, dir] = process.argv.slice(2);
if (!port || !dir) {
  process.stderr.write('usage: http_sirv PORT DIR\n');
  process.exit(2);
}
// Production settings: no file-system watching (dev false), ETags as the other servers send.
const handler = sirv(dir, { dev: false, etag: true });
const server = createServer((req, res) => handler(req, res, () => { res.statusCode = 404; res.end(); }));
server.keepAliveTimeout = 75_000;
server.listen({ port: Number(port), host: '127.0.0.1', backlog: 4096 });
