import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { createSmtpMailer } from '../../src/integrations/email/smtp-mailer';
import { createSensSmsSender } from '../../src/integrations/sms/sens-client';
import { SENS_SIMULATOR_DEFAULTS } from '../../src/integrations/sms/sms-simulator';

type Line = Record<string, unknown> & { msg: string };

/** Starts a simulator entry point as `make start` does (on an ephemeral port) and reads its JSON log. */
async function startCli(entry: string, extraArgs: string[] = []) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, '--port', '0', ...extraArgs], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: Line[] = [];
  let buffered = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => {
    buffered += d;
    const complete = buffered.split('\n');
    buffered = complete.pop()!;
    for (const line of complete) if (line.trim()) lines.push(JSON.parse(line) as Line);
  });
  const until = async (msg: string) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = lines.find((l) => l.msg === msg);
      if (found) return found;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no "${msg}" from ${entry}; stderr:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, until };
}

async function stop(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  return new Promise((resolve) => child.once('exit', resolve));
}

describe('simulator entry points for make start', () => {
  const children: ChildProcessWithoutNullStreams[] = [];
  afterEach(async () => {
    await Promise.all(children.splice(0).map(stop));
  });

  it('when the SMTP simulator runs as a process, then a mail sent to it is logged with its text, listed over HTTP, and SIGTERM exits 0', async () => {
    const { child, until } = await startCli('src/integrations/email/simulator-cli.ts', ['--http-port', '0']);
    children.push(child);
    const { url, mailbox } = (await until('smtp simulator listening (SMTP_URL)')) as Line & { url: string; mailbox: string };
    const mailer = createSmtpMailer({ url, from: 'Junggo <no-reply@junggo.test>' });

    await mailer.send({ to: 'dev@example.com', subject: '링크', text: '인증 링크: https://junggo.test/v?t=1', category: 'test.cli' });
    await mailer.close();
    const received = await until('smtp simulator: mail received');

    expect(received).toMatchObject({ to: ['dev@example.com'], subject: '링크', text: expect.stringContaining('https://junggo.test/v?t=1') });
    const listed = (await (await fetch(`${mailbox}?to=DEV@example.com`)).json()) as { messages: { subject: string; text: string }[] };
    expect(listed.messages).toEqual([expect.objectContaining({ subject: '링크', text: expect.stringContaining('https://junggo.test/v?t=1') })]);
    expect(((await (await fetch(`${mailbox}?to=other@example.com`)).json()) as { messages: unknown[] }).messages).toEqual([]);
    expect(await stop(child)).toBe(0);
  });

  it('when the SENS simulator runs as a process, then it takes the default local keys and logs the text', async () => {
    const { child, until } = await startCli('src/integrations/sms/simulator-cli.ts');
    children.push(child);
    const { url } = (await until('sms simulator listening (SMS_PROVIDER_URL)')) as Line & { url: string };
    const sender = createSensSmsSender({ baseUrl: url, ...SENS_SIMULATOR_DEFAULTS, from: '0212345678' });

    await sender.send({ to: '+821012345678', text: '인증번호 123456' });
    const received = await until('sms simulator: message received');

    expect(received).toMatchObject({ to: '01012345678', type: 'SMS', content: '인증번호 123456' });
    expect(await stop(child)).toBe(0);
  });
});
