// `ser web`: serves the demo page on loopback only, and only from an allow-list: the page (web/index.html and
// its stylesheet), its script (dist/web), the browser bundle (dist/browser), the checkpoints under runs/ that
// the page loads and the shipped model under models/. The rest of the package (sources, .git, node_modules,
// package.json) is out of reach.

import { createServer, STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
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

function send(res: ServerResponse, status: number, headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(`${status} ${STATUS_CODES[status]}\n`);
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
}

/** Serves the demo page on 127.0.0.1 (port 0: any free port). */
export async function serveWeb(port: number, options: WebOptions = {}): Promise<{ url: string; close: () => Promise<void> }> {
  const root = options.root ?? packageRoot();
  const routes = [...PAGE_ROUTES, ...(options.routes ?? [])];
  const server = createServer((req, res) => {
    // No request may end the server: whatever fails is answered 500 (or the connection dropped mid-answer).
    answer(req, res, root, routes).catch(() => (res.headersSent ? res.destroy() : send(res, 500)));
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(port, '127.0.0.1', ok));
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://127.0.0.1:${actualPort}/`;
  console.error(`ser web: serving the demo page at ${url}`);
  return { url, close: () => new Promise((ok) => server.close(() => ok())) };
}
