import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type RecoveringChannelModel } from 'amqplib';
import type { Logger } from '../logger';

type ReadyHandler = (model: ChannelModel) => Promise<void>;
/** Opens a channel (and what hangs on it); null when its owner no longer wants one. */
export type ChannelOpener = (model: ChannelModel) => Promise<Channel | null>;

const REOPEN_INITIAL_DELAY_MS = 250;
const REOPEN_MAX_DELAY_MS = 10_000;
/** A channel that stayed open this long closed for a new reason: its reopening starts over at the first delay. */
const REOPEN_RESET_AFTER_MS = 30_000;

/**
 * One AMQP connection, kept up by amqplib's own recovery (exponential backoff with jitter).
 * After every (re)connect each registered `onReady` handler runs with the new connection, to
 * open its own channels and (re)declare its topology and consumers. amqplib recovers the
 * connection, not channels: `keepOpen` also reopens a channel that closes while the connection
 * stays up.
 */
export class RabbitConnection {
  private connection: RecoveringChannelModel | null = null;
  private channel: ConfirmChannel | null = null;
  private model: ChannelModel | null = null;
  private ready = false;
  private readonly readyHandlers: ReadyHandler[] = [];

  /** `name` shows as the connection's name in the broker's tools (with the process id). */
  constructor(
    private readonly url: string,
    private readonly log: Logger,
    private readonly name = 'junggo',
  ) {
    void this.keepOpen(async (model) => {
      const channel = await model.createConfirmChannel();
      channel.on('error', (err: Error) => this.log.warn({ err }, 'amqp channel error'));
      channel.on('close', () => {
        if (this.channel === channel) this.channel = null;
      });
      this.channel = channel;
      return channel;
    });
  }

  /** Resolves once connected; fails fast (a few retries) when the broker is not there at start-up. */
  async start(): Promise<void> {
    const connection = await amqp.connect(this.url, {
      timeout: 5000,
      clientProperties: { connection_name: `${this.name} (pid ${process.pid})` },
      recovery: {
        initialDelay: 250,
        maxDelay: 10_000,
        initialMaxRetries: 3,
        maxRetries: Infinity,
        setup: async (model: ChannelModel) => {
          this.model = model;
          try {
            for (const handler of this.readyHandlers) await handler(model);
          } catch (err) {
            this.model = null; // amqplib closes it and tries a new one: nothing to reopen on it
            throw err;
          }
          this.ready = true;
        },
      },
    });
    connection.on('disconnect', (err: Error) => {
      this.ready = false;
      this.channel = null;
      this.model = null;
      this.log.warn({ err: err?.message }, 'amqp connection lost; reconnecting');
    });
    connection.on('connect', () => this.log.info('amqp connected'));
    connection.on('error', (err: Error) => this.log.warn({ err }, 'amqp connection error'));
    this.connection = connection;
  }

  /** Registers a setup run after every (re)connect (and now, if already connected). */
  async onReady(handler: ReadyHandler): Promise<void> {
    this.readyHandlers.push(handler);
    if (this.ready && this.model) await handler(this.model);
  }

  /**
   * Keeps a channel open: `open` runs like an `onReady` handler and again, with backoff, whenever
   * the channel it returned closes while the connection stays up: a channel-level error (a
   * missing exchange or queue, an unknown delivery tag, a consumer timeout) or its owner closing
   * it to start afresh. A lost connection is left to the ready handlers of the next one.
   */
  async keepOpen(open: ChannelOpener): Promise<void> {
    await this.onReady(async (model) => this.watch(model, await open(model), open, 0));
  }

  /** `attempt`: how many times in a row the channel had to be reopened soon after opening. */
  private watch(model: ChannelModel, channel: Channel | null, open: ChannelOpener, attempt: number): void {
    if (!channel) return;
    const openedAt = Date.now();
    channel.once('close', () => this.reopen(model, open, Date.now() - openedAt >= REOPEN_RESET_AFTER_MS ? 1 : attempt + 1));
  }

  private reopen(model: ChannelModel, open: ChannelOpener, attempt: number): void {
    const delay = Math.min(REOPEN_INITIAL_DELAY_MS * 2 ** (attempt - 1), REOPEN_MAX_DELAY_MS);
    setTimeout(() => {
      if (this.model !== model) return;
      open(model).then(
        (channel) => this.watch(model, channel, open, attempt),
        (err: unknown) => {
          this.log.warn({ err, attempt }, 'amqp channel could not be reopened; retrying');
          this.reopen(model, open, attempt + 1);
        },
      );
    }, delay).unref();
  }

  /** The shared confirm channel, for short administrative calls (declare, check, get). */
  get adminChannel(): ConfirmChannel | null {
    return this.channel;
  }

  get isConnected(): boolean {
    return this.channel !== null;
  }

  /** For the readiness check: fails unless a channel is open and the broker answers. */
  async ping(): Promise<void> {
    if (!this.channel) throw new Error('not connected');
    await this.channel.checkExchange('amq.topic');
  }

  async stop(): Promise<void> {
    const connection = this.connection;
    this.connection = null;
    this.ready = false;
    this.channel = null;
    this.model = null;
    if (connection) await connection.close().catch(() => undefined);
  }
}
