// The demo page's server (`ser web`) against hostile requests, sent as-is on raw sockets: malformed escapes,
// '..' in every encoding, NUL, a 100 kB URL, foreign or missing Host headers, other methods, a FIFO, symlinks out
// of an allowed folder, a sibling folder with the same name prefix, and the package's own files beside the page.
// Each gets its status code and none gets a secret; after each one the server still serves the page. A 3 GiB
// checkpoint is streamed, one that grows while it is sent is sent at its Content-Length, and the page's source
// maps carry no sources. Against a server with short limits: connections that send nothing, part of their
// headers or a byte at a time, kept-alive ones left idle, clients that stop reading and floods of connections are
// each freed within their limit while the page is still served, and request bodies are refused unread.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot, serveWeb } from '../src/cli/web.js';
import { cliForTests } from './cli.js';
import { titleNeeding } from './skip.js';

const SECRET = 'SECRET-7f3a';
const INDEX = '<!doctype html><title>the demo page</title>';
const MODEL = 'model bytes 0123456789';

let base: string;
let server: Awaited<ReturnType<typeof serveWeb>>;
let port: number;

interface Request {
  path: string;
  method?: string;
  /** The Host header; null: none. ('{port}' here and in the path is the server's port.) */
  host?: string | null;
  version?: string;
}

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The body of a chunked reply: each chunk is a line with its size in hex, the bytes and CRLF; size 0 ends it. */
function unchunk(raw: string): string {
  let body = '';
  for (let at = 0; ; ) {
    const eol = raw.indexOf('\r\n', at);
    const size = parseInt(raw.slice(at, eol), 16);
    if (!(size > 0)) return body;
    body += raw.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

/** Sends the request line and headers exactly as given and reads the reply until the server closes. */
function send({ path, method = 'GET', host = '127.0.0.1:{port}', version = '1.1' }: Request): Promise<Reply> {
  const head = `${method} ${path} HTTP/${version}\r\n${host === null ? '' : `Host: ${host}\r\n`}Connection: close\r\n\r\n`;
  return new Promise((ok) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.setTimeout(10_000, () => socket.destroy()); // no answer: status NaN, not a hung test
    // A server that refuses a request before reading all of it may reset the connection after its answer.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [top, ...body] = text.split('\r\n\r\n');
      const [statusLine, ...lines] = top.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const raw = body.join('\r\n\r\n');
      ok({ status: Number(/^HTTP\/1\.[01] (\d{3}) /.exec(statusLine)?.[1] ?? NaN), headers, body: headers['transfer-encoding'] === 'chunked' ? unchunk(raw) : raw });
    });
    // write, not end: Node's server drops a request whose client half-closes before the answer.
    socket.write(head.replaceAll('{port}', String(port)));
  });
}

async function expectPageServed(): Promise<void> {
  const page = await send({ path: '/' });
  expect(page.status).toBe(200);
  expect(page.body).toBe(INDEX);
}

/** Writes `text` to `path` under the temporary folder, creating folders on the way. */
async function put(path: string, text: string): Promise<void> {
  await mkdir(dirname(join(base, path)), { recursive: true });
  await writeFile(join(base, path), text);
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'ser-web-'));
  // The served root is pkg/: the page's folders, and beside them what must stay private.
  await put('pkg/web/index.html', INDEX);
  await put('pkg/web/styles.css', 'body { margin: 0 }');
  await put('pkg/web/app.ts', SECRET);
  await put('pkg/dist/web/app.js', 'console.log("app")');
  await put('pkg/dist/browser/index.js', 'export {}');
  await put('pkg/runs/demo/model.safetensors', MODEL);
  await put('pkg/runs/demo/report.md', SECRET);
  await put('pkg/runs/.hidden.safetensors', SECRET);
  await mkdir(join(base, 'pkg/runs/folder.safetensors'));
  // A FIFO: opening it would wait for a writer, and with it one of the few threads that all file access shares.
  execFileSync('mkfifo', [join(base, 'pkg/runs/fifo.safetensors')]);
  await put('pkg/runs-private/model.safetensors', SECRET);
  await put('pkg/models/emodb.safetensors', MODEL);
  await put('pkg/models/notes.md', SECRET);
  await put('pkg/.git/config', SECRET);
  await put('pkg/src/index.ts', SECRET);
  await put('pkg/node_modules/dep/index.js', SECRET);
  await put('pkg/package.json', SECRET);
  await put('pkg-secret/model.safetensors', SECRET); // a sibling of the root, with its name as prefix
  await put('outside/model.safetensors', SECRET);
  await put('extra/a.wav', 'RIFF');
  await put('extra/a.txt', SECRET);
  // Symlinks inside runs/ that lead out of it: out of the tree, to a folder, to the same-prefix sibling, and
  // to a file of a type runs/ does not serve.
  await symlink(join(base, 'outside/model.safetensors'), join(base, 'pkg/runs/escape.safetensors'));
  await symlink(join(base, 'outside'), join(base, 'pkg/runs/out'));
  await symlink('../runs-private/model.safetensors', join(base, 'pkg/runs/sibling.safetensors'));
  await symlink('demo/report.md', join(base, 'pkg/runs/report.safetensors'));
  // A checkpoint too large for one read (sparse, so it costs no disk): it must be streamed.
  await put('pkg/runs/huge.safetensors', '');
  await truncate(join(base, 'pkg/runs/huge.safetensors'), 3 * 2 ** 30);
  // A checkpoint that grows while it is sent (sparse too): larger than the socket buffers, so that most of it is
  // still unread when the client pauses.
  await put('pkg/runs/growing.safetensors', '');
  await truncate(join(base, 'pkg/runs/growing.safetensors'), 64 * 2 ** 20);
  server = await serveWeb(0, { root: join(base, 'pkg'), routes: [{ url: '/extra/', dir: join(base, 'extra'), types: ['.wav'] }] });
  port = Number(new URL(server.url).port);
});

afterAll(async () => {
  await server?.close();
  await rm(base, { recursive: true, force: true });
});

describe('ser web serves the page', () => {
  it('serves index.html at / (the ?model= query is the page’s, not the server’s)', async () => {
    for (const path of ['/', '/web/index.html', '/?model=/runs/demo/model.safetensors']) {
      const r = await send({ path });
      expect(r.status, path).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.body).toBe(INDEX);
    }
  });

  it('serves the stylesheet, the page script, the browser bundle, the checkpoints under runs/ and the shipped model', async () => {
    const files: [string, string, string][] = [
      ['/web/styles.css', 'text/css', 'body { margin: 0 }'],
      ['/dist/web/app.js', 'text/javascript; charset=utf-8', 'console.log("app")'],
      ['/dist/browser/index.js', 'text/javascript; charset=utf-8', 'export {}'],
      ['/runs/demo/model.safetensors', 'application/octet-stream', MODEL],
      ['/models/emodb.safetensors', 'application/octet-stream', MODEL],
      ['/extra/a.wav', 'audio/wav', 'RIFF'],
    ];
    for (const [path, type, body] of files) {
      const r = await send({ path });
      expect(r.status, path).toBe(200);
      expect(r.headers['content-type'], path).toBe(type);
      expect(r.body, path).toBe(body);
    }
  });

  it('answers HEAD with the headers only (the page asks whether runs/demo/model.safetensors exists)', async () => {
    const r = await send({ path: '/runs/demo/model.safetensors', method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(MODEL.length));
    expect(r.body).toBe('');
    expect((await send({ path: '/runs/none/model.safetensors', method: 'HEAD' })).status).toBe(404);
  });

  it('streams a checkpoint too large to read whole (3 GiB), and a client that leaves mid-way does not end the server', async () => {
    const head = await new Promise<string>((ok) => {
      const socket = connect(port, '127.0.0.1');
      let received = '';
      socket.on('error', () => undefined);
      socket.setTimeout(10_000, () => socket.destroy());
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
        // The headers and the first bytes of the body: then the client goes away.
        if (received.length > 100_000) socket.destroy();
      });
      socket.on('close', () => ok(received.slice(0, received.indexOf('\r\n\r\n'))));
      socket.write(`GET /runs/huge.safetensors HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    });
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(head.toLowerCase()).toContain(`content-length: ${3 * 2 ** 30}`);
    await expectPageServed();
  });

  it('sends no more bytes than its Content-Length when the file grows meanwhile', async () => {
    // The client pauses after the first bytes, 1 MiB is appended to the file, and the client reads the rest:
    // bytes past Content-Length would be read as the next response on a kept-alive connection.
    const { head, bodyBytes } = await new Promise<{ head: string; bodyBytes: number }>((ok) => {
      const socket = connect(port, '127.0.0.1');
      let received = Buffer.alloc(0);
      let head: string | null = null;
      let bodyBytes = 0;
      socket.on('error', () => undefined);
      socket.setTimeout(10_000, () => socket.destroy());
      socket.on('data', (chunk: Buffer) => {
        if (head !== null) return void (bodyBytes += chunk.length);
        received = Buffer.concat([received, chunk]);
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = received.subarray(0, end).toString('latin1');
        bodyBytes = received.length - end - 4;
        socket.pause();
        void appendFile(join(base, 'pkg/runs/growing.safetensors'), Buffer.alloc(2 ** 20, 'X')).then(() => socket.resume());
      });
      socket.on('close', () => ok({ head: head ?? '', bodyBytes }));
      socket.write(`GET /runs/growing.safetensors HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    });
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(head.toLowerCase()).toContain(`content-length: ${64 * 2 ** 20}`);
    expect(bodyBytes).toBe(64 * 2 ** 20);
    await expectPageServed();
  });

  it('accepts localhost as well as 127.0.0.1, with the server’s port', async () => {
    for (const host of ['localhost:{port}', 'LOCALHOST:{port}']) {
      const r = await send({ path: '/', host });
      expect(r.status, host).toBe(200);
      expect(r.body).toBe(INDEX);
    }
  });
});

const hostile: [string, Request, number][] = [
  ['a lone %', { path: '/%' }, 400],
  ['a bad escape', { path: '/%zz' }, 400],
  ['a truncated UTF-8 escape', { path: '/%E0%A4%A' }, 400],
  ['/../', { path: '/../package.json' }, 400],
  ['..%2f', { path: '/..%2fpackage.json' }, 400],
  ['%2e%2e/', { path: '/%2e%2e/package.json' }, 400],
  ['%2e%2e%2f', { path: '/%2e%2e%2fpackage.json' }, 400],
  ['%2E%2E in an allowed folder', { path: '/runs/%2E%2E/package.json' }, 400],
  ['..%5c (a backslash)', { path: '/runs/..%5cpackage.json' }, 400],
  ['..%2f out of an allowed folder to a same-prefix sibling of the root', { path: '/runs/..%2f..%2f..%2fpkg-secret/model.safetensors' }, 400],
  ['. segments', { path: '/web/./index.html' }, 400],
  ['double-encoded %252e%252e', { path: '/runs/%252e%252e/%252e%252e/package.json' }, 404],
  ['overlong UTF-8 dots %c0%ae%c0%ae (not UTF-8: a bad escape)', { path: '/runs/%c0%ae%c0%ae/package.json' }, 400],
  ['a Windows drive path with a backslash', { path: '/runs/C:%5c..%5cpackage.json' }, 400],
  ['a Windows drive letter as a segment', { path: '/runs/C:/outside/model.safetensors' }, 404],
  ['.. in the query string (not part of the path)', { path: '/runs/demo/model.safetensors?/../../package.json' }, 200],
  ['//', { path: '//' }, 404],
  ['//etc/passwd', { path: '//etc/passwd' }, 404],
  ['an empty segment in an allowed folder', { path: '/runs//demo/model.safetensors' }, 404],
  ['NUL', { path: '/%00' }, 400],
  ['NUL before an allowed extension', { path: '/web/app.ts%00.html' }, 400],
  ['a proxy’s absolute URL', { path: 'http://127.0.0.1:{port}/package.json' }, 400],
  ['a 100 kB URL (Node refuses the headers)', { path: `/${'a'.repeat(100_000)}` }, 431],
  ['/.git/config', { path: '/.git/config' }, 404],
  ['/src/index.ts', { path: '/src/index.ts' }, 404],
  ['/node_modules/…', { path: '/node_modules/dep/index.js' }, 404],
  ['/package.json', { path: '/package.json' }, 404],
  ['a source beside the page', { path: '/web/app.ts' }, 404],
  ['a file of another type in runs/', { path: '/runs/demo/report.md' }, 404],
  ['a file of another type in models/', { path: '/models/notes.md' }, 404],
  ['a hidden file', { path: '/runs/.hidden.safetensors' }, 404],
  ['a folder', { path: '/runs/folder.safetensors' }, 404],
  ['a FIFO (not opened)', { path: '/runs/fifo.safetensors' }, 404],
  ['another type in an extra folder', { path: '/extra/a.txt' }, 404],
  ['the sibling folder runs-private/', { path: '/runs-private/model.safetensors' }, 404],
  ['a same-prefix sibling of the root', { path: '/../pkg-secret/model.safetensors' }, 400],
  ['a symlink out of the tree', { path: '/runs/escape.safetensors' }, 403],
  ['a symlinked folder out of the tree', { path: '/runs/out/model.safetensors' }, 403],
  ['a symlink to the same-prefix sibling runs-private/', { path: '/runs/sibling.safetensors' }, 403],
  ['a symlink to a file of another type', { path: '/runs/report.safetensors' }, 403],
  ['POST', { path: '/', method: 'POST' }, 405],
  ['PUT', { path: '/web/index.html', method: 'PUT' }, 405],
  ['DELETE', { path: '/runs/demo/model.safetensors', method: 'DELETE' }, 405],
  ['OPTIONS *', { path: '*', method: 'OPTIONS' }, 405],
  ['TRACE', { path: '/', method: 'TRACE' }, 405],
  ['a foreign Host (DNS rebinding)', { path: '/', host: 'evil.example' }, 421],
  ['a foreign Host with the server’s port', { path: '/', host: 'evil.example:{port}' }, 421],
  ['127.0.0.1 on another port', { path: '/', host: '127.0.0.1:1' }, 421],
  ['no Host in HTTP/1.1 (Node refuses it)', { path: '/', host: null }, 400],
  ['no Host in HTTP/1.0', { path: '/', host: null, version: '1.0' }, 421],
];

describe('ser web refuses hostile requests, and keeps serving', () => {
  for (const [name, request, status] of hostile) {
    it(`${name}: ${status}`, async () => {
      const r = await send(request);
      expect(r.status).toBe(status);
      expect(r.body).not.toContain(SECRET);
      if (status === 405) expect(r.headers.allow).toBe('GET, HEAD');
      await expectPageServed();
    });
  }

  it('all of them at once', async () => {
    const replies = await Promise.all(hostile.map(([, request]) => send(request)));
    expect(replies.map((r) => r.status)).toEqual(hostile.map(([, , status]) => status));
    for (const r of replies) expect(r.body).not.toContain(SECRET);
    await expectPageServed();
  });
});

/** Short limits, so that each client below is given up on within a second. stalledMs is above requestMs, as in
 * WEB_LIMITS: a connection that sends nothing is given its 408 before its socket times out. */
const LIMITS = { requestMs: 500, keepAliveMs: 200, stalledMs: 800, checkMs: 100, maxConnections: 8 };

interface Held {
  /** What the server sent, as latin1 text. */
  text: string;
  /** From the connection's opening to its close by the server (Infinity: still open at the end of the wait). */
  ms: number;
}

/**
 * Opens a connection to `server`, lets `act` write to it (or not) and reads until the server closes it, giving up
 * after `waitMs`. The socket reads all along: a paused socket never sees the server's close.
 */
function hold(server: { url: string }, act: (socket: Socket, host: string) => void, waitMs = 5_000): Promise<Held> {
  return new Promise((ok) => {
    const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
    const began = Date.now();
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => {
      socket.destroy();
      ok({ text, ms: Infinity });
    }, waitMs);
    socket.on('close', () => {
      clearTimeout(timer);
      ok({ text, ms: Date.now() - began });
    });
    socket.on('connect', () => act(socket, `Host: ${new URL(server.url).host}\r\n`));
  });
}

/** The status line of each response in `text`. */
const statuses = (text: string) => [...text.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1]));

describe('ser web frees every connection within a bounded time, and keeps serving meanwhile', () => {
  // Under Node 20's defaults the first three were held 60-90 s, a kept-alive connection 6 s, and a client that
  // stopped reading for as long as it liked; here each is given up on within its limit.
  let limited: Awaited<ReturnType<typeof serveWeb>>;
  beforeAll(async () => {
    limited = await serveWeb(0, { root: join(base, 'pkg'), limits: LIMITS });
  });
  afterAll(async () => {
    await limited?.close();
  });
  const pageServed = async () => {
    const page = await hold(limited, (s, host) => s.write(`GET / HTTP/1.1\r\n${host}Connection: close\r\n\r\n`));
    expect(statuses(page.text)).toEqual([200]);
  };
  const requestBound = LIMITS.requestMs + LIMITS.checkMs + 500;

  it.each<[string, (socket: Socket, host: string) => void]>([
    ['a connection that sends nothing', () => undefined],
    ['one that stops part-way through its headers', (s, host) => s.write(`GET / HTTP/1.1\r\n${host}X-Wait: `)],
    [
      'one that sends a header byte every 50 ms (slowloris)',
      (s, host) => {
        s.write(`GET / HTTP/1.1\r\n${host}X-Wait: `);
        const drip = setInterval(() => (s.writable ? s.write('a') : clearInterval(drip)), 50);
        s.on('close', () => clearInterval(drip));
      },
    ],
    ['one that sends a request line and stops before the Host header', (s) => s.write('GET / HTTP/1.1\r\n')],
  ])('%s: a 408 and closed within requestMs', async (_, act) => {
    const [held] = await Promise.all([hold(limited, act), pageServed()]);
    expect(statuses(held.text)).toEqual([408]);
    expect(held.ms).toBeGreaterThanOrEqual(LIMITS.requestMs - 50);
    expect(held.ms).toBeLessThan(requestBound);
  });

  it('a kept-alive connection left idle after its answer: closed after keepAliveMs (and Node’s 1 s)', async () => {
    const held = await hold(limited, (s, host) => s.write(`GET / HTTP/1.1\r\n${host}\r\n`));
    expect(statuses(held.text)).toEqual([200]);
    expect(held.ms).toBeLessThan(LIMITS.keepAliveMs + 1_000 + 500);
  });

  it.each<[string, number, string]>([
    ['a GET whose body never comes', 413, 'GET / HTTP/1.1\r\n{host}Content-Length: 1000\r\n\r\n0123456789'],
    ['a GET with a chunked body', 413, 'GET /web/index.html HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n'],
    ['a HEAD with a body', 413, 'HEAD /runs/demo/model.safetensors HTTP/1.1\r\n{host}Content-Length: 5\r\n\r\nhello'],
    ['a POST whose body never comes', 405, 'POST / HTTP/1.1\r\n{host}Content-Length: 1000\r\n\r\n0123456789'],
    ['a body from a foreign Host', 421, 'GET / HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 1000\r\n\r\n'],
    // Node answered 100 Continue, inviting the body, before the handler's answer.
    ['Expect: 100-continue on a GET', 413, 'GET / HTTP/1.1\r\n{host}Content-Length: 1000\r\nExpect: 100-continue\r\n\r\n'],
    ['Expect: 100-continue on a POST', 405, 'POST / HTTP/1.1\r\n{host}Content-Length: 1000\r\nExpect: 100-continue\r\n\r\n'],
  ])('%s: %i at once, the body unread and the connection closed', async (_, status, raw) => {
    const held = await hold(limited, (s, host) => s.write(raw.replace('{host}', host)));
    expect(statuses(held.text)).toEqual([status]);
    expect(held.text).not.toContain(SECRET);
    expect(held.text.toLowerCase()).toContain('connection: close');
    // At once: not after keepAliveMs, nor after the body's time to arrive.
    expect(held.ms).toBeLessThan(1_000);
  });

  it('a GET with an empty body (Content-Length: 0) is served as one without', async () => {
    const held = await hold(limited, (s, host) => s.write(`GET / HTTP/1.1\r\n${host}Content-Length: 0\r\nConnection: close\r\n\r\n`));
    expect(statuses(held.text)).toEqual([200]);
    expect(held.text.endsWith(INDEX)).toBe(true);
  });

  it('a client that stops reading its answer (after a kept-alive request, with more pipelined): closed after stalledMs', async () => {
    // The client reads nothing for three times stalledMs, then reads what is left: the connection is closed by
    // then, after the bytes the socket buffers held, far short of the 3 GiB (which came whole without the limit).
    const port = Number(new URL(limited.url).port);
    const { received, ms } = await new Promise<{ received: number; ms: number }>((ok) => {
      const socket = connect(port, '127.0.0.1');
      const began = Date.now();
      let received = 0;
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => (received += chunk.length));
      socket.on('close', () => ok({ received, ms: Date.now() - began }));
      socket.on('connect', () => {
        socket.pause();
        const host = `Host: 127.0.0.1:${port}\r\n`;
        socket.write(`GET / HTTP/1.1\r\n${host}\r\nGET /runs/huge.safetensors HTTP/1.1\r\n${host}\r\nGET / HTTP/1.1\r\n${host}\r\n`);
        setTimeout(() => socket.resume(), 3 * LIMITS.stalledMs);
      });
      setTimeout(() => socket.destroy(), 3 * LIMITS.stalledMs + 3_000);
    });
    expect(received).toBeLessThan(2 ** 28);
    expect(ms).toBeLessThan(3 * LIMITS.stalledMs + 2_000);
    await pageServed();
  });

  it(`${3 * LIMITS.maxConnections} silent connections at once: at most maxConnections are kept, the page is served, and all are freed within requestMs`, async () => {
    const flood = Array.from({ length: 3 * LIMITS.maxConnections }, () => hold(limited, () => undefined));
    // The newest connections close the oldest that have no answer under way, so an ordinary request gets in.
    await new Promise((ok) => setTimeout(ok, 100));
    await pageServed();
    await pageServed();
    const held = await Promise.all(flood);
    const evicted = held.filter((h) => h.text === '');
    const timedOut = held.filter((h) => statuses(h.text)[0] === 408);
    expect(evicted.length).toBeGreaterThanOrEqual(2 * LIMITS.maxConnections);
    expect(evicted.length + timedOut.length).toBe(held.length);
    for (const h of held) expect(h.ms).toBeLessThan(requestBound);
    await pageServed();
  });

  it('a connection with an answer under way is not closed to make room', async () => {
    // A client reads a 3 GiB checkpoint while 3 × maxConnections silent connections arrive: they close each other
    // (and the oldest silent ones), never the download, which goes on past what the socket buffers hold.
    const port = Number(new URL(limited.url).port);
    const downloaded = await new Promise<number>((ok) => {
      const socket = connect(port, '127.0.0.1');
      let received = 0;
      let flooded = false;
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (!flooded && received > 2 ** 20) {
          flooded = true;
          socket.pause();
          void Promise.all(Array.from({ length: 3 * LIMITS.maxConnections }, () => hold(limited, () => undefined, 50))).then(() => socket.resume());
        }
        if (received > 2 ** 26) socket.destroy();
      });
      socket.on('close', () => ok(received));
      socket.write(`GET /runs/huge.safetensors HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    });
    expect(downloaded).toBeGreaterThan(2 ** 26);
  });
});

const builtMap = join(packageRoot(), 'dist/web/app.js.map');
describe('ser web on the package itself', () => {
  it.skipIf(!existsSync(builtMap))(titleNeeding(existsSync(builtMap), 'serves the page script’s source map without the sources in it', 'no build: npm run build'), async () => {
    const own = await serveWeb(0);
    try {
      for (const path of ['/dist/web/app.js.map', '/dist/browser/index.js.map']) {
        const map = (await (await fetch(new URL(path, own.url))).json()) as { sources: string[]; sourcesContent?: unknown };
        expect(map.sources, path).toContain('../../src/embed.ts');
        expect(map.sourcesContent, path).toBeUndefined();
      }
    } finally {
      await own.close();
    }
  });

  it('serves the demo page and nothing of the package beside it', async () => {
    const own = await serveWeb(0);
    try {
      const page = await fetch(own.url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<script type="module" src="/dist/web/app.js">');
      for (const path of ['/.git/config', '/package.json', '/src/cli/web.ts', '/web/app.ts', '/node_modules/vitest/package.json', '/test/web-server.test.ts', '/README.md']) {
        expect((await fetch(new URL(path, own.url))).status, path).toBe(404);
      }
    } finally {
      await own.close();
    }
  });
});

describe('ser web --port', () => {
  const cli = cliForTests();
  it.each(['70000', '65536', '-1', '1.5', 'abc', ''])('--port %s is refused by the argument parser, naming the option and the range', async (value) => {
    const r = await cli.run(['web', '--port', value], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`option '--port <n>' argument '${value}' is invalid. --port must be an integer from 0 to 65535`);
  });
});
