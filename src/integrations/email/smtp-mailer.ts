import type { ConnectionOptions } from 'node:tls';
import nodemailer, { type NodemailerError } from 'nodemailer';
import { assertSendable, MailDeliveryError, messageIdFor, type MailDeliveryErrorCode, type Mailer, type MailSendOptions, type OutgoingMail, type SentMail } from './mailer';

export interface SmtpMailerOptions {
  /** `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://user:pass@host:465` (TLS from the start). */
  url: string;
  /** `Junggo <no-reply@junggo.kr>` or a bare address; its domain is the Message-ID's right side. */
  from: string;
  /** Refuse to send (and to log in) unless the connection is encrypted. On in production. */
  requireTLS?: boolean;
  /** Node TLS options for the connection, e.g. `ca` for a private CA or `servername`. */
  tls?: ConnectionOptions;
  /** Connect, greeting and idle limits; a job's AbortSignal bounds the whole send as well. */
  timeoutMs?: number;
}

const DEFAULT_PORT = { 'smtp:': 587, 'smtps:': 465 } as const;

/** A Mailer on an SMTP relay (any provider's SMTP endpoint, or the local simulator). */
export function createSmtpMailer(options: SmtpMailerOptions): Mailer {
  const target = parseSmtpUrl(options.url);
  const domain = domainOf(options.from);
  const timeoutMs = options.timeoutMs ?? 15_000;
  // No pool: identity mail is a trickle, and a connection per message needs no upkeep or close.
  const transport = nodemailer.createTransport({
    ...target,
    requireTLS: options.requireTLS ?? false,
    ...(options.tls ? { tls: options.tls } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs * 2,
  });
  let closed = false;

  return {
    async send(mail: OutgoingMail, { idempotencyKey, signal }: MailSendOptions = {}): Promise<SentMail> {
      if (closed) throw new MailDeliveryError('aborted', 'the mailer is closed', { retryable: true });
      assertSendable(mail);
      try {
        const info = await transport.sendMail({
          from: options.from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          ...(mail.html ? { html: mail.html } : {}),
          ...(idempotencyKey ? { messageId: messageIdFor(idempotencyKey, domain) } : {}),
          headers: { 'X-Junggo-Category': mail.category },
          ...(signal ? { signal } : {}),
        });
        return { messageId: info.messageId, response: info.response };
      } catch (err) {
        throw toDeliveryError(err as NodemailerError);
      }
    },
    async close() {
      closed = true;
      transport.close();
    },
  };
}

function parseSmtpUrl(raw: string) {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('SMTP url must look like smtp://user:pass@host:port');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new Error(`SMTP url must use smtp: or smtps:, not ${url.protocol}`);
  if (!url.hostname) throw new Error('SMTP url must name a host');
  const user = decodeURIComponent(url.username);
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : DEFAULT_PORT[url.protocol],
    secure: url.protocol === 'smtps:',
    ...(user ? { auth: { user, pass: decodeURIComponent(url.password) } } : {}),
  };
}

function domainOf(from: string): string {
  const address = /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from.trim();
  const domain = address.slice(address.lastIndexOf('@') + 1);
  if (!address.includes('@') || !/^[A-Za-z0-9.-]+$/.test(domain)) throw new Error(`sender '${from}' must contain an address with a domain`);
  return domain;
}

function toDeliveryError(err: NodemailerError): MailDeliveryError {
  const message = err.response ?? err.message;
  const fail = (code: MailDeliveryErrorCode, retryable: boolean) =>
    new MailDeliveryError(code, message, { retryable, ...(err.responseCode === undefined ? {} : { smtpCode: err.responseCode }), cause: err });
  switch (err.code) {
    case 'EABORT':
      return fail('aborted', true);
    case 'EAUTH':
    case 'ENOAUTH':
      return fail('auth_failed', false);
    case 'ETLS':
    case 'EREQUIRETLS':
      return fail('tls_failed', false);
    case 'ECONNECTION':
    case 'ESOCKET':
    case 'EDNS':
    case 'ETIMEDOUT':
      return fail('connection_failed', true);
  }
  // Nodemailer classes the reply: 5xx (but 503) is final, 4xx says "try again later".
  if (err.responseCode !== undefined) return err.permanent ? fail('rejected', false) : fail('deferred', true);
  return fail('unknown', true);
}
