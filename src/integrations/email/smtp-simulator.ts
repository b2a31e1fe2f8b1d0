import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { simpleParser, type AddressObject, type HeaderValue } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Logger } from '../../platform/logger';

export interface SmtpSimulatorOptions {
  /** 0 for an ephemeral port (tests); `make start` passes the port of SMTP_URL. */
  port?: number;
  host?: string;
  /** Require AUTH with exactly these credentials; without, AUTH is optional and any login passes. */
  auth?: { user: string; pass: string };
  /** Offer STARTTLS (with smtp-server's built-in, publicly known test certificate). Off by default. */
  starttls?: boolean;
  /** Logs each message received, body included: the way to read a verification link locally. */
  log?: Logger;
}

/** A message as the simulator received and parsed it. */
export interface CapturedMail {
  /** SMTP envelope (MAIL FROM / RCPT TO), which is where the message really went. */
  envelope: { from: string | false; to: string[] };
  messageId: string | undefined;
  from: string | undefined;
  to: string[];
  subject: string | undefined;
  text: string | undefined;
  html: string | undefined;
  category: string | undefined;
  headers: Map<string, HeaderValue>;
  /** Whether the session was encrypted (STARTTLS) when the message came in. */
  secure: boolean;
  authUser: string | undefined;
  raw: Buffer;
}

export interface SmtpSimulator {
  /** `smtp://127.0.0.1:<port>`, with the credentials when `auth` was given. */
  url: string;
  port: number;
  /** Messages accepted (250), oldest first. */
  messages(): CapturedMail[];
  /** Messages received but answered with a failure by `failNext`, oldest first. */
  rejected(): CapturedMail[];
  /** The first accepted message, already here or still to come, that matches. */
  waitFor(predicate: (mail: CapturedMail) => boolean, timeoutMs?: number): Promise<CapturedMail>;
  /** Answers the next `count` messages' DATA with a temporary failure (451 by default) after reading them. */
  failNext(count: number, reply?: { code: number; message: string }): void;
  stop(): Promise<void>;
}

/** A local SMTP server that keeps what it receives: the e-mail provider of tests and `make start`. */
export async function startSmtpSimulator(options: SmtpSimulatorOptions = {}): Promise<SmtpSimulator> {
  const host = options.host ?? '127.0.0.1';
  const accepted: CapturedMail[] = [];
  const refused: CapturedMail[] = [];
  const arrivals = new EventEmitter();
  let failures: { remaining: number; code: number; message: string } = { remaining: 0, code: 451, message: '' };

  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    // Loopback only: credentials in clear text are acceptable here, as with any local relay.
    allowInsecureAuth: true,
    authOptional: !options.auth,
    disabledCommands: options.starttls ? [] : ['STARTTLS'],
    closeTimeout: 500,
    onAuth(auth, _session, callback) {
      const expected = options.auth;
      if (expected && (auth.username !== expected.user || auth.password !== expected.pass)) {
        return callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      }
      callback(null, { user: auth.username });
    },
    onData(stream, session, callback) {
      capture(stream, session)
        .then((mail) => {
          if (failures.remaining > 0) {
            failures.remaining--;
            refused.push(mail);
            return callback(Object.assign(new Error(failures.message), { responseCode: failures.code }));
          }
          accepted.push(mail);
          arrivals.emit('mail', mail);
          options.log?.info(
            { to: mail.envelope.to, subject: mail.subject, message_id: mail.messageId, category: mail.category, text: mail.text },
            'smtp simulator: mail received',
          );
          callback(null, `OK: queued as ${accepted.length}`);
        })
        .catch((err: unknown) => callback(err instanceof Error ? err : new Error(String(err))));
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;
  let stopping: Promise<void> | undefined;
  const credentials = options.auth ? `${encodeURIComponent(options.auth.user)}:${encodeURIComponent(options.auth.pass)}@` : '';

  return {
    url: `smtp://${credentials}${host}:${port}`,
    port,
    messages: () => [...accepted],
    rejected: () => [...refused],
    waitFor(predicate, timeoutMs = 5_000) {
      const found = accepted.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const onMail = (mail: CapturedMail) => {
          if (!predicate(mail)) return;
          clearTimeout(timer);
          arrivals.off('mail', onMail);
          resolve(mail);
        };
        const timer = setTimeout(() => {
          arrivals.off('mail', onMail);
          reject(new Error(`smtp simulator: no matching message within ${timeoutMs} ms (${accepted.length} received)`));
        }, timeoutMs);
        arrivals.on('mail', onMail);
      });
    },
    failNext(count, reply = { code: 451, message: '4.3.0 Temporary failure (simulated)' }) {
      failures = { remaining: count, ...reply };
    },
    stop: () => (stopping ??= new Promise<void>((resolve) => server.close(() => resolve()))),
  };
}

async function capture(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<CapturedMail> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const parsed = await simpleParser(raw);
  const category = parsed.headers.get('x-junggo-category');
  return {
    envelope: {
      from: session.envelope.mailFrom ? session.envelope.mailFrom.address : false,
      to: session.envelope.rcptTo.map((r) => r.address),
    },
    messageId: parsed.messageId,
    from: parsed.from?.text,
    to: addresses(parsed.to),
    subject: parsed.subject,
    text: parsed.text,
    html: parsed.html === false ? undefined : parsed.html,
    category: typeof category === 'string' ? category : undefined,
    headers: parsed.headers,
    secure: session.secure,
    authUser: typeof session.user === 'string' ? session.user : undefined,
    raw,
  };
}

const addresses = (field: AddressObject | AddressObject[] | undefined): string[] =>
  (Array.isArray(field) ? field : field ? [field] : []).flatMap((group) => group.value.map((a) => a.address ?? '')).filter(Boolean);
