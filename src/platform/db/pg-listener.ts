import { Client } from 'pg';
import type { Logger } from '../logger';

/** The notification's payload; undefined after a reconnect, when anything may have been missed. */
type Listener = (payload?: string) => void;

/**
 * A dedicated connection that LISTENs on channels and reconnects when it drops. Listeners are
 * also called after every reconnect, since notifications sent while disconnected are lost.
 */
export class PgListener {
  private client: Client | null = null;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners = new Map<string, Listener[]>();

  constructor(private readonly url: string, private readonly log: Logger) {}

  on(channel: string, listener: Listener): void {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`bad channel name ${channel}`);
    this.listeners.set(channel, [...(this.listeners.get(channel) ?? []), listener]);
  }

  async start(): Promise<void> {
    const client = new Client({ connectionString: this.url });
    client.on('notification', (msg) => this.listeners.get(msg.channel)?.forEach((l) => l(msg.payload)));
    client.on('error', (err) => this.log.warn({ err }, 'pg listener error'));
    client.on('end', () => {
      this.client = null;
      if (!this.stopping) this.reconnectSoon();
    });
    await client.connect();
    for (const channel of this.listeners.keys()) await client.query(`LISTEN ${channel}`);
    this.client = client;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }

  private reconnectSoon(attempt = 0): void {
    this.timer = setTimeout(() => {
      this.start()
        .then(() => this.listeners.forEach((ls) => ls.forEach((l) => l())))
        .catch(() => this.reconnectSoon(attempt + 1));
    }, Math.min(250 * 2 ** attempt, 10_000));
  }
}
