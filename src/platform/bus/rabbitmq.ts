import amqp, { type ChannelModel, type ConfirmChannel, type RecoveringChannelModel } from 'amqplib';
import type { Logger } from '../logger';

type ReadyHandler = (model: ChannelModel) => Promise<void>;

/**
 * One AMQP connection per process, kept up by amqplib's own recovery (exponential backoff with
 * jitter). After every (re)connect each registered `onReady` handler runs with the new
 * connection, to open its own channels and (re)declare its topology and consumers.
 */
export class RabbitConnection {
  private connection: RecoveringChannelModel | null = null;
  private channel: ConfirmChannel | null = null;
  private model: ChannelModel | null = null;
  private readonly readyHandlers: ReadyHandler[] = [];

  constructor(
    private readonly url: string,
    private readonly log: Logger,
  ) {}

  /** Resolves once connected; fails fast (a few retries) when the broker is not there at start-up. */
  async start(): Promise<void> {
    const connection = await amqp.connect(this.url, {
      timeout: 5000,
      recovery: {
        initialDelay: 250,
        maxDelay: 10_000,
        initialMaxRetries: 3,
        maxRetries: Infinity,
        setup: async (model: ChannelModel) => {
          const channel = await model.createConfirmChannel();
          channel.on('error', (err: Error) => this.log.warn({ err }, 'amqp channel error'));
          channel.on('close', () => {
            if (this.channel === channel) this.channel = null;
          });
          this.model = model;
          for (const handler of this.readyHandlers) await handler(model);
          this.channel = channel;
        },
      },
    });
    connection.on('disconnect', (err: Error) => {
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
    if (this.channel && this.model) await handler(this.model);
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
    this.channel = null;
    this.model = null;
    if (connection) await connection.close().catch(() => undefined);
  }
}
