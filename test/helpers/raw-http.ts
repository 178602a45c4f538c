// Requests written on a socket by hand: the head, then a large body in pieces while no answer has come, as a
// client streaming an upload does, from a chosen local address (every 127.0.0.0/8 address reaches a server
// on 127.0.0.1 on Linux). Fetch cannot stop sending a body when the answer comes, nor pick its address.
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: any;
  /** Milliseconds from the first byte sent to the whole answer. */
  ms: number;
  /** Body bytes written before the answer came (or the connection closed). */
  bodyBytesSent: number;
}

/**
 * One request over a socket of its own from `from`: the head, then the body in 64 KB pieces while no
 * answer has arrived, as a client streaming a large upload does. With `sendBody: false` only the head
 * is sent and the answer must come without the body. Rejects after `timeoutMs` without an answer.
 */
export function rawRequest(options: { from?: string; port: number; method: string; path: string; headers: Record<string, string>; body?: Buffer; sendBody?: boolean; timeoutMs?: number }): Promise<RawAnswer> {
  const body = options.body ?? Buffer.alloc(0);
  const head =
    `${options.method} ${options.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\n` +
    Object.entries(options.headers).map(([name, value]) => `${name}: ${value}\r\n`).join('') +
    '\r\n';
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect({ port: options.port, host: '127.0.0.1', localAddress: options.from });
    let received = Buffer.alloc(0);
    let answered = false;
    let bodyBytesSent = 0;
    const timer = setTimeout(() => finish(new Error(`no answer within ${options.timeoutMs ?? 10_000} ms (${bodyBytesSent} body bytes sent)`)), options.timeoutMs ?? 10_000);
    const finish = (error?: Error, answer?: RawAnswer) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(answer!);
    };
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      const answer = parseAnswer(received);
      if (answer) finish(undefined, { ...answer, ms: performance.now() - started, bodyBytesSent });
    });
    // A server that answers early and closes may reset the connection while the body is still being written.
    socket.on('error', () => {});
    socket.on('close', () => finish(new Error(`closed without an answer: ${JSON.stringify(received.toString().slice(0, 200))}`)));
    socket.on('connect', async () => {
      socket.write(head);
      if (options.sendBody === false) return;
      for (let at = 0; at < body.length && !answered && !socket.destroyed; at += 64 * 1024) {
        const piece = body.subarray(at, at + 64 * 1024);
        bodyBytesSent += piece.length;
        if (!socket.write(piece)) await new Promise((resume) => socket.once('drain', resume).once('close', resume));
      }
    });
  });
}

/** A whole HTTP/1.1 answer with a Content-Length, or undefined while more is to come. */
function parseAnswer(bytes: Buffer): Omit<RawAnswer, 'ms' | 'bodyBytesSent'> | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = bytes.subarray(0, end).toString().split('\r\n');
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  const length = Number(headers['content-length'] ?? 0);
  if (bytes.length < end + 4 + length) return undefined;
  const text = bytes.subarray(end + 4, end + 4 + length).toString();
  return { status: Number(statusLine.split(' ')[1]), headers, body: text ? JSON.parse(text) : undefined };
}

