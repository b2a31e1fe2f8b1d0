/** One message to one recipient. The port the rest of the code sends e-mail through. */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** A short tag (`identity.verify-email`) for logs and the provider's per-category statistics. */
  category: string;
}

export interface MailSendOptions {
  /**
   * Stable across retries of one logical send (a job id): it becomes the Message-ID, so a
   * message sent twice (a retry after the server accepted it but before we heard back) is one
   * message to the receiving side, which collapses duplicates by Message-ID. SMTP itself has no
   * idempotency: the server accepts and relays both copies.
   */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export interface SentMail {
  /** With the angle brackets, as in the header. */
  messageId: string;
  /** The server's final reply, e.g. `250 OK: queued as ...`. */
  response: string;
}

export interface Mailer {
  send(mail: OutgoingMail, options?: MailSendOptions): Promise<SentMail>;
  /** Releases connections; sends after close fail. */
  close(): Promise<void>;
}

export type MailDeliveryErrorCode =
  | 'invalid_message'
  | 'auth_failed'
  | 'tls_failed'
  | 'connection_failed'
  | 'rejected'
  | 'deferred'
  | 'aborted'
  | 'unknown';

/** A send that did not end with the server accepting the message. */
export class MailDeliveryError extends Error {
  /** Whether sending the same message again later can succeed. */
  readonly retryable: boolean;
  /** The SMTP reply code, when the server answered. */
  readonly smtpCode: number | undefined;

  constructor(readonly code: MailDeliveryErrorCode, message: string, details: { retryable: boolean; smtpCode?: number; cause?: unknown }) {
    super(message, { cause: details.cause });
    this.name = 'MailDeliveryError';
    this.retryable = details.retryable;
    this.smtpCode = details.smtpCode;
  }
}

const CATEGORY = /^[a-z0-9][a-z0-9._-]{0,63}$/;
// One plain address: no display name, list separators or line breaks that could add recipients.
const ADDRESS = /^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>"]+$/;

/** Throws unless the mail can be sent as is; shared by every adapter so they refuse the same things. */
export function assertSendable(mail: OutgoingMail): void {
  const problems: string[] = [];
  if (!ADDRESS.test(mail.to)) problems.push('`to` must be one e-mail address');
  if (!mail.subject.trim() || /[\r\n]/.test(mail.subject)) problems.push('`subject` must be one non-empty line');
  if (!mail.text.trim()) problems.push('`text` must not be empty');
  if (!CATEGORY.test(mail.category)) problems.push(`\`category\` must match ${CATEGORY}`);
  if (problems.length) throw new MailDeliveryError('invalid_message', problems.join('; '), { retryable: false });
}

/**
 * The Message-ID for an idempotency key: `<key@domain>`, with every character a Message-ID's
 * left side may not hold (RFC 5322 dot-atom) written as `=XX`, so distinct keys stay distinct.
 */
export function messageIdFor(key: string, domain: string): string {
  if (!key) throw new Error('idempotency key must not be empty');
  const left = [...Buffer.from(key, 'utf8')]
    .map((byte, i, all) => {
      const ch = String.fromCharCode(byte);
      if (/[A-Za-z0-9_|+-]/.test(ch)) return ch;
      // A dot is fine between other characters, not first, last or doubled.
      if (ch === '.' && i > 0 && i < all.length - 1 && all[i - 1] !== 0x2e) return ch;
      return `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
  return `<${left}@${domain}>`;
}

/** `k***@example.com`: enough to tell messages apart in logs without writing the address down. */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 1) return '***';
  return `${address[0]}***${address.slice(at)}`;
}
