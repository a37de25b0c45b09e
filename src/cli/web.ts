// `ser web`: serves the demo page on loopback only, and only from an allow-list: the page (web/index.html and
// its stylesheet), its script (dist/web), the browser bundle (dist/browser), the checkpoints under runs/ that
// the page loads and the shipped model under models/. The rest of the package (sources, .git, node_modules,
// package.json) is out of reach. Every connection is freed within a bounded time whatever its client does or
// leaves undone (WEB_LIMITS), and no request body is read.

import { createServer, STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { realpath } from 'node:fs/promises';
import { dirname, extname, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { FileRefused, openRegularFile } from '../io/regular-file.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.css': 'text/css',
  '.wav': 'audio/wav',
  '.safetensors': 'application/octet-stream',
};

/** A folder the server serves: its URL prefix (ending in '/'), the folder (relative to the root, or absolute), and the file types served from it. */
export interface WebRoute {
  url: string;
  dir: string;
  types: string[];
}

/** What the demo page fetches. */
export const PAGE_ROUTES: WebRoute[] = [
  { url: '/web/', dir: 'web', types: ['.html', '.css'] },
  { url: '/dist/web/', dir: 'dist/web', types: ['.js', '.map'] },
  { url: '/dist/browser/', dir: 'dist/browser', types: ['.js', '.map'] },
  // Checkpoints written by `ser demo` and `ser train --out runs/…`: the page loads runs/demo/model.safetensors
  // when there is one, any other by ?model=/runs/….
  { url: '/runs/', dir: 'runs', types: ['.safetensors'] },
  // The model the package ships (model/shipped.ts), loaded when there is no demo model and no ?model=.
  { url: '/models/', dir: 'models', types: ['.safetensors'] },
];

/** The package root: dist/node/cli.js → ../.. */
export function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/**
 * How long `ser web` waits on a client, and how many clients it keeps. Measured under Node 20 with its defaults:
 * a connection that sent nothing, or part of its headers (one byte a second: slowloris), held its socket for 60 to
 * 90 s (headersTimeout 60 s, checked every 30 s); one that stopped reading its answer (a checkpoint, or a thousand
 * pipelined requests) held its socket and the open file for good, since Node has no timeout while it answers; and a
 * GET with a body kept the server reading and discarding it. Enough such connections at once (the open-file limit,
 * often 1024) and no request was accepted at all. On loopback a browser sends a request at once and reads the answer
 * as it comes, so these limits are far from anything the page needs.
 */
export interface WebLimits {
  /** From a connection's opening (or, on a kept-alive one, its next request's first byte) to the end of the
   * request's headers: a connection that sends nothing is closed after it too, with a 408. No request this server
   * answers has a body, so it is the whole request (Node's headersTimeout and requestTimeout). */
  requestMs: number;
  /** A kept-alive connection between requests (Node's keepAliveTimeout; Node adds 1 s). */
  keepAliveMs: number;
  /** No byte moved either way while an answer is sent (a client that stopped reading; the socket's timeout). */
  stalledMs: number;
  /** How often Node looks for requests past requestMs: such a connection lives at most requestMs + checkMs. */
  checkMs: number;
  /** Connections at once: past it, the oldest connection that has no answer under way (one that sent nothing or
   * part of a request, or a kept-alive one between requests) is closed for the new one; when every one has an
   * answer under way (each bounded by stalledMs), the new one is. A browser opens at most 6 to one host, and two
   * descriptors each (the socket and the file sent) stay far below the usual open-file limit. */
  maxConnections: number;
}

export const WEB_LIMITS: WebLimits = { requestMs: 10_000, keepAliveMs: 5_000, stalledMs: 30_000, checkMs: 1_000, maxConnections: 64 };

/** Whether a request carries a body: the server reads none (the browser sends none with GET or HEAD). */
const hasBody = (req: IncomingMessage) => req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

function send(res: ServerResponse, status: number, headers: OutgoingHttpHeaders = {}): void {
  // A body left unread: the connection is closed after the answer rather than read on to the body's end (Node
  // would read and discard it to reuse the connection).
  const close = hasBody(res.req) ? { connection: 'close' } : {};
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...close, ...headers }).end(`${status} ${STATUS_CODES[status]}\n`);
}

/** The route and the file path inside its folder that a request target names, or the status that refuses it. */
function lookup(target: string, routes: WebRoute[]): { route: WebRoute; path: string } | number {
  // Origin form only ('/…'), not a proxy's absolute form ('http://host/…') or '*'.
  if (!target.startsWith('/')) return 400;
  let path: string;
  try {
    path = decodeURIComponent(target.replace(/[?#].*/s, ''));
  } catch {
    return 400; // a malformed escape: '%', '%zz', a truncated UTF-8 sequence
  }
  // A browser never sends these (it resolves dot segments itself): control characters such as NUL, backslashes
  // (a separator on Windows), and '.' or '..' segments however they were encoded.
  if (/[\0-\x1f\\]/.test(path) || path.split('/').some((p) => p === '.' || p === '..')) return 400;
  if (path === '/') path = '/web/index.html';
  const route = routes.find((r) => path.startsWith(r.url));
  if (!route) return 404;
  const parts = path.slice(route.url.length).split('/');
  // Empty segments ('//') and hidden files are not on the allow-list either.
  if (parts.some((p) => p === '' || p.startsWith('.')) || !route.types.includes(extname(path))) return 404;
  return { route, path: parts.join(sep) };
}

async function answer(req: IncomingMessage, res: ServerResponse, root: string, routes: WebRoute[]): Promise<void> {
  // DNS rebinding: a foreign site whose name resolves to 127.0.0.1 reaches this server with its own name as Host.
  const host = req.headers.host?.toLowerCase();
  const port = req.socket.localPort;
  if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return send(res, 421);
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { allow: 'GET, HEAD' });
  if (hasBody(req)) return send(res, 413);
  const found = lookup(req.url ?? '', routes);
  if (typeof found === 'number') return send(res, found);
  const real = (path: string) => realpath(path).catch(() => null);
  const dir = resolve(root, found.route.dir);
  const [realDir, file] = await Promise.all([real(dir), real(resolve(dir, found.path))]);
  if (!realDir || !file) return send(res, 404);
  // Real paths, so that a symlink in an allowed folder cannot lead out of it (and with the separator, since
  // runs-private/ is not inside runs/).
  if (!file.startsWith(realDir + sep) || !found.route.types.includes(extname(file))) return send(res, 403);
  // A regular file only (../io/regular-file.ts: opening a FIFO would wait for a writer). The size and the bytes
  // come from one open file, and no more bytes than that size are sent: a checkpoint that `ser train` renames over
  // this one between a stat and the open, or one still being copied in, would otherwise send more bytes than its
  // Content-Length, and the client would read the rest as the next response on the connection.
  const opened = await openRegularFile(file).catch((e) => (e instanceof FileRefused ? null : Promise.reject(e)));
  if (!opened) return send(res, 404);
  const { handle, size } = opened;
  try {
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': size,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    // (An empty file has no byte range to read: end would be -1, which a read stream refuses.)
    if (req.method === 'HEAD' || size === 0) return void res.end();
    // Streamed, not read whole: checkpoints run to hundreds of MB. A read error now (headers sent) destroys the
    // response, so the client sees a cut-off body rather than a short one that looks complete.
    await pipeline(handle.createReadStream({ start: 0, end: size - 1, autoClose: false }), res);
  } finally {
    await handle.close();
  }
}

export interface WebOptions {
  /** The folder the routes' relative folders are in (default: the package root). */
  root?: string;
  /** Folders served beside the page's (the browser tests' pages and fixtures). */
  routes?: WebRoute[];
  /** In place of WEB_LIMITS (the tests' are shorter). */
  limits?: Partial<WebLimits>;
}

/**
 * Holds `server` to `max` connections: a new one past it closes the oldest connection with no answer under way
 * (Node's own maxConnections closes the new one instead, so a flood of silent connections kept the page out until
 * they timed out), or itself when every connection has one.
 */
function keepAtMost(server: Server, max: number): void {
  // The connections with no answer under way, oldest first (a Set keeps insertion order, and one that finishes an
  // answer goes to the end), and each connection's answers under way (pipelined requests are answered in turn).
  const waiting = new Set<Socket>();
  const answering = new Map<Socket, number>();
  server.on('connection', (socket: Socket) => {
    waiting.add(socket);
    answering.set(socket, 0);
    socket.once('close', () => {
      waiting.delete(socket);
      answering.delete(socket);
    });
    if (answering.size > max) waiting.values().next().value?.destroy();
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    waiting.delete(socket);
    answering.set(socket, (answering.get(socket) ?? 0) + 1);
    res.once('close', () => {
      const under = answering.get(socket);
      if (under === undefined) return; // the connection is gone
      answering.set(socket, under - 1);
      if (under === 1) waiting.add(socket);
    });
  });
}

/** Serves the demo page on 127.0.0.1 (port 0: any free port). */
export async function serveWeb(port: number, options: WebOptions = {}): Promise<{ url: string; close: () => Promise<void> }> {
  const root = options.root ?? packageRoot();
  const routes = [...PAGE_ROUTES, ...(options.routes ?? [])];
  const limits = { ...WEB_LIMITS, ...options.limits };
  const server = createServer(
    {
      headersTimeout: limits.requestMs,
      requestTimeout: limits.requestMs,
      keepAliveTimeout: limits.keepAliveMs,
      connectionsCheckingInterval: limits.checkMs,
    },
    (req, res) => {
      // No request may end the server: whatever fails is answered 500 (or the connection dropped mid-answer).
      answer(req, res, root, routes).catch(() => (res.headersSent ? res.destroy() : send(res, 500)));
    },
  );
  // With no 'timeout' listener, Node destroys a socket idle this long.
  server.setTimeout(limits.stalledMs);
  // Expect: 100-continue is answered with the final status at once: Node's own answer, 100 Continue, invited a body
  // the server does not read.
  server.on('checkContinue', (req, res) => server.emit('request', req, res));
  keepAtMost(server, limits.maxConnections);
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(port, '127.0.0.1', ok));
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://127.0.0.1:${actualPort}/`;
  console.error(`ser web: serving the demo page at ${url}`);
  return {
    url,
    close: () =>
      new Promise((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
