import { afterEach, describe, expect, it } from 'vitest';
import { MailDeliveryError, messageIdFor, type Mailer } from '../../src/integrations/email/mailer';
import { createSmtpMailer } from '../../src/integrations/email/smtp-mailer';
import { startMailboxHttp } from '../../src/integrations/email/mailbox-http';
import { startSmtpSimulator, type SmtpSimulator } from '../../src/integrations/email/smtp-simulator';
import { resetPassword, verifyEmail } from '../../src/integrations/email/templates';

const FROM = 'Junggo <no-reply@junggo.test>';
const unique = () => `u${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}@example.com`;

describe('SMTP mailer, over loopback to the SMTP simulator', () => {
  const opened: { simulators: SmtpSimulator[]; mailers: Mailer[] } = { simulators: [], mailers: [] };
  afterEach(async () => {
    await Promise.all(opened.mailers.splice(0).map((m) => m.close()));
    await Promise.all(opened.simulators.splice(0).map((s) => s.stop()));
  });
  const simulator = async (options?: Parameters<typeof startSmtpSimulator>[0]) => {
    const sim = await startSmtpSimulator({ port: 0, ...options });
    opened.simulators.push(sim);
    return sim;
  };
  const mailer = (options: Parameters<typeof createSmtpMailer>[0]) => {
    const m = createSmtpMailer(options);
    opened.mailers.push(m);
    return m;
  };

  it('when a verification mail is sent, then it arrives with its envelope, headers, Korean subject and bodies intact', async () => {
    const sim = await simulator();
    const to = unique();
    const content = verifyEmail({ nickname: '당근마켓러버', link: 'https://junggo.test/v1/verify?token=tok_123' });

    const sent = await mailer({ url: sim.url, from: FROM }).send({ to, ...content }, { idempotencyKey: 'email.send|evt_user_registered_1' });
    const got = await sim.waitFor((m) => m.envelope.to.includes(to));

    expect(got.envelope).toEqual({ from: 'no-reply@junggo.test', to: [to] });
    expect(got.from).toBe('"Junggo" <no-reply@junggo.test>');
    expect(got.to).toEqual([to]);
    expect(got.subject).toBe('[중고] 이메일 주소를 인증해 주세요 (Verify your email address)');
    expect(got.messageId).toBe('<email.send|evt_user_registered_1@junggo.test>');
    expect(sent.messageId).toBe(got.messageId);
    expect(got.category).toBe('identity.verify-email');
    expect(got.text).toContain('당근마켓러버님, 안녕하세요.');
    expect(got.text).toContain('https://junggo.test/v1/verify?token=tok_123');
    expect(got.text).toContain('Hi 당근마켓러버, please open the link above to verify your email address.');
    expect(got.html).toContain('<a href="https://junggo.test/v1/verify?token=tok_123"');
    expect(got.html).toContain('이메일 인증하기');
    // On the wire: the Korean subject is an RFC 2047 encoded word and the parts declare UTF-8.
    const raw = got.raw.toString('latin1');
    expect(raw).toMatch(/^Subject: =\?UTF-8\?[BQ]\?/im);
    expect(raw).toMatch(/Content-Type: text\/plain; charset=utf-8/i);
    expect(raw).toMatch(/Content-Type: text\/html; charset=utf-8/i);
  });

  it('when the nickname carries a <script> tag, then the HTML shows it as text and the plain text keeps it verbatim', async () => {
    const sim = await simulator();
    const to = unique();
    const nickname = `<script>alert("x")</script>'&`;

    await mailer({ url: sim.url, from: FROM }).send({ to, ...resetPassword({ nickname, link: 'https://junggo.test/reset?t=1&u=2' }) });
    const got = await sim.waitFor((m) => m.envelope.to.includes(to));

    expect(got.html).not.toContain('<script>');
    expect(got.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&amp;님, 안녕하세요.');
    expect(got.html).toContain('href="https://junggo.test/reset?t=1&amp;u=2"');
    expect(got.text).toContain(`${nickname}님, 안녕하세요.`);
    expect(got.subject).toBe('[중고] 비밀번호 재설정 안내 (Reset your password)');
    expect(got.category).toBe('identity.reset-password');
  });

  it('when the relay requires credentials, then the right ones log in and wrong ones fail as auth_failed, not retryable', async () => {
    const sim = await simulator({ auth: { user: 'mailer', pass: 'p@ss:word/1' } });
    const good = unique();

    await mailer({ url: sim.url, from: FROM }).send({ to: good, subject: '인증', text: '본문', category: 'test.auth' });
    const wrongUrl = sim.url.replace(encodeURIComponent('p@ss:word/1'), 'wrong');
    const failure = await mailer({ url: wrongUrl, from: FROM })
      .send({ to: unique(), subject: '인증', text: '본문', category: 'test.auth' })
      .catch((err: unknown) => err);

    expect((await sim.waitFor((m) => m.envelope.to.includes(good))).authUser).toBe('mailer');
    expect(failure).toBeInstanceOf(MailDeliveryError);
    expect(failure).toMatchObject({ code: 'auth_failed', retryable: false, smtpCode: 535 });
    expect(sim.messages()).toHaveLength(1);
  });

  it('when TLS is required and the relay offers no STARTTLS, then nothing is sent; when it offers STARTTLS, then the message goes encrypted', async () => {
    const plain = await simulator();
    const tls = await simulator({ starttls: true });
    const mail = { subject: 'TLS', text: '암호화', category: 'test.tls' };

    const refused = await mailer({ url: plain.url, from: FROM, requireTLS: true })
      .send({ to: unique(), ...mail })
      .catch((err: unknown) => err);
    const to = unique();
    // The simulator's certificate is smtp-server's public test certificate, so it cannot verify.
    await mailer({ url: tls.url, from: FROM, requireTLS: true, tls: { rejectUnauthorized: false } }).send({ to, ...mail });

    expect(refused).toMatchObject({ name: 'MailDeliveryError', code: 'tls_failed', retryable: false });
    expect(plain.messages()).toHaveLength(0);
    expect((await tls.waitFor((m) => m.envelope.to.includes(to))).secure).toBe(true);
  });

  it('when the relay answers 451, then the error is a retryable deferral; when it answers 550, then a final rejection', async () => {
    const sim = await simulator();
    const m = mailer({ url: sim.url, from: FROM });
    const send = () => m.send({ to: unique(), subject: '재시도', text: '본문', category: 'test.retry' }).catch((err: unknown) => err);

    sim.failNext(1);
    const deferred = await send();
    sim.failNext(1, { code: 550, message: '5.1.1 Mailbox unavailable' });
    const rejected = await send();

    expect(deferred).toMatchObject({ name: 'MailDeliveryError', code: 'deferred', retryable: true, smtpCode: 451 });
    expect(rejected).toMatchObject({ name: 'MailDeliveryError', code: 'rejected', retryable: false, smtpCode: 550 });
    expect(sim.rejected()).toHaveLength(2);
    expect(sim.messages()).toHaveLength(0);
  });

  it('when the job\'s signal is already aborted (timeout, shutdown), then nothing is sent and the error says aborted', async () => {
    const sim = await simulator();

    const failure = await mailer({ url: sim.url, from: FROM })
      .send({ to: unique(), subject: 's', text: 't', category: 'test.abort' }, { signal: AbortSignal.abort() })
      .catch((err: unknown) => err);

    expect(failure).toMatchObject({ name: 'MailDeliveryError', code: 'aborted', retryable: true });
    expect(sim.messages()).toHaveLength(0);
  });

  it('when the recipient is a list or the category is malformed, then the mailer refuses before connecting', async () => {
    const sim = await simulator();
    const m = mailer({ url: sim.url, from: FROM });

    const list = await m.send({ to: 'a@example.com, b@example.com', subject: 's', text: 't', category: 'test.x' }).catch((e: unknown) => e);
    const header = await m.send({ to: 'a@example.com', subject: 's', text: 't', category: 'Bad\r\nBcc: x@y.z' }).catch((e: unknown) => e);

    expect(list).toMatchObject({ code: 'invalid_message', retryable: false });
    expect(header).toMatchObject({ code: 'invalid_message', retryable: false });
    expect(sim.messages()).toHaveLength(0);
  });
});

describe('mail templates and Message-IDs', () => {
  it('when a link is not http(s), then rendering refuses it', () => {
    expect(() => verifyEmail({ nickname: 'x', link: 'javascript:alert(1)' })).toThrow(/http\(s\)/);
    expect(() => resetPassword({ nickname: 'x', link: '/relative' })).toThrow(/absolute URL/);
  });

  it('when a nickname has line breaks, then the plain text keeps it on one line', () => {
    expect(verifyEmail({ nickname: '가\r\n\r\n[공지] 가짜', link: 'https://junggo.test/v' }).text).toMatch(/^가 \[공지\] 가짜님, 안녕하세요\.\n/);
  });

  it('when idempotency keys differ only in characters a Message-ID cannot hold, then their Message-IDs still differ and are valid', () => {
    const ids = ['email.send|evt:1', 'email.send|evt 1', 'email.send|evt=3A1', '.a..b.'].map((k) => messageIdFor(k, 'junggo.test'));

    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^<[A-Za-z0-9_|+=-]+(\.[A-Za-z0-9_|+=-]+)*@junggo\.test>$/);
    expect(messageIdFor('email.send|evt_1', 'junggo.test')).toBe('<email.send|evt_1@junggo.test>');
  });
});

describe('the mailbox over HTTP (make start: :8025)', () => {
  it('when mails arrive, then GET /api/messages lists them (all, or those of one address, case-insensitively) with a stable received_at; other paths are 404', async () => {
    const sim = await startSmtpSimulator({ port: 0 });
    const http = await startMailboxHttp(sim, 0);
    const mailer = createSmtpMailer({ url: sim.url, from: FROM });
    try {
      const [a, b] = [unique(), unique()];
      await mailer.send({ to: a, ...verifyEmail({ nickname: '가', link: 'https://junggo.test/v?t=1' }) });
      await mailer.send({ to: b, ...resetPassword({ nickname: '나', link: 'https://junggo.test/r?t=2' }) });
      await sim.waitFor((m) => m.envelope.to.includes(b));
      type Listed = { messages: { to: string[]; subject: string; category: string; text: string; received_at: string }[] };
      const get = async (query: string) => (await (await fetch(`${http.url}/api/messages${query}`)).json()) as Listed;
      const forA = await get(`?to=${encodeURIComponent(a.toUpperCase())}`);
      expect(forA.messages.map((m) => [m.to, m.category])).toEqual([[[a], 'identity.verify-email']]);
      expect(forA.messages[0]!.text).toContain('https://junggo.test/v?t=1');
      const all = await get('');
      expect(all.messages.map((m) => m.to[0])).toEqual(expect.arrayContaining([a, b]));
      expect((await get(`?to=${encodeURIComponent(a)}`)).messages[0]!.received_at).toBe(forA.messages[0]!.received_at);
      const other = await fetch(`${http.url}/api/other`);
      expect(other.status).toBe(404);
      expect((await fetch(`${http.url}/api/messages`, { method: 'POST' })).status).toBe(404);
    } finally {
      await mailer.close();
      await http.stop();
      await sim.stop();
    }
  });
});
