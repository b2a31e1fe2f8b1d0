import { createServer } from 'node:http';
import { listenSimulator, type ListeningSimulator } from '../simulator-server';
import type { SmtpSimulator } from './smtp-simulator';

/**
 * A read-only HTTP view of the simulator's mailbox, in the manner of MailHog/Mailpit, so that
 * tools outside this process (k6 setup, Postman, a developer's curl) can follow e-mailed links:
 * `GET /api/messages?to=<address>` → `{ messages: [{ to, subject, category, text, received_at }] }`,
 * newest last. Local use only: it binds to loopback unless told otherwise.
 */
export async function startMailboxHttp(simulator: SmtpSimulator, port: number, host = '127.0.0.1'): Promise<ListeningSimulator> {
  const received = new WeakMap<object, string>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://mailbox');
    if (req.method !== 'GET' || url.pathname !== '/api/messages') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const to = url.searchParams.get('to')?.toLowerCase();
    const messages = simulator
      .messages()
      .filter((m) => !to || m.envelope.to.some((a) => a.toLowerCase() === to))
      .map((m) => {
        if (!received.has(m)) received.set(m, new Date().toISOString());
        return { to: m.envelope.to, subject: m.subject, category: m.category, text: m.text, received_at: received.get(m) };
      });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ messages }));
  });
  return listenSimulator(server, port, host);
}
