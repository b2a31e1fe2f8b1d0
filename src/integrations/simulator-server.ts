import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ListeningSimulator {
  /** `http://host:port`, the base URL a client is configured with. */
  url: string;
  port: number;
  /** Idempotent: every call waits for the same close. */
  stop: () => Promise<void>;
}

/** Starts a provider simulator's HTTP server (port 0 for an ephemeral one, as tests use). */
export async function listenSimulator(server: Server, port = 0, host = '127.0.0.1'): Promise<ListeningSimulator> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${host}:${bound}`,
    port: bound,
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // fetch keeps connections alive; they would hold close() open until they time out.
        server.closeAllConnections();
      })),
  };
}

/** A request's body, or undefined once it passes `maxBytes` (the simulators then answer 413). */
export async function readRequestBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
