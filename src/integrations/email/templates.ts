import type { OutgoingMail } from './mailer';

/** A rendered message, ready for `Mailer.send` once `to` is added. */
export type MailContent = Omit<OutgoingMail, 'to'> & { html: string };

export interface LinkMailParams {
  /** As the user chose it: escaped here, never trusted. */
  nickname: string;
  /** Absolute http(s) URL carrying the one-time token. */
  link: string;
}

/** Sign-up: asks the user to open the link that proves they own the address. */
export function verifyEmail({ nickname, link }: LinkMailParams): MailContent {
  return render({
    category: 'identity.verify-email',
    subject: '[중고] 이메일 주소를 인증해 주세요 (Verify your email address)',
    nickname: oneLine(nickname),
    link: safeLink(link),
    intro: '중고에 가입해 주셔서 감사합니다. 아래 링크를 열어 이메일 주소 인증을 마쳐 주세요.',
    action: '이메일 인증하기',
    outro: '직접 가입하지 않으셨다면 이 메일은 무시하셔도 됩니다.',
    english: 'please open the link above to verify your email address. If you did not sign up, you can ignore this email.',
  });
}

/**
 * Sign-up with an address that already has an account: the owner learns of it (the API answers
 * the same as for a new address, so nobody else does) and gets the way back in.
 */
export function accountExists({ nickname, link }: LinkMailParams): MailContent {
  return render({
    category: 'identity.account-exists',
    subject: '[중고] 이미 가입된 이메일 주소입니다 (You already have an account)',
    nickname: oneLine(nickname),
    link: safeLink(link),
    intro: '이 이메일 주소로 가입 요청이 있었지만, 이미 가입된 계정이 있습니다. 비밀번호가 기억나지 않으시면 아래 링크에서 재설정해 주세요.',
    action: '비밀번호 재설정하기',
    outro: '직접 요청하지 않으셨다면 이 메일은 무시하셔도 됩니다. 계정은 그대로입니다.',
    english: 'someone tried to sign up with this address, which already has an account. If it was you, open the link above to reset your password; otherwise ignore this email.',
  });
}

/** Forgotten password: the link to choose a new one. */
export function resetPassword({ nickname, link }: LinkMailParams): MailContent {
  return render({
    category: 'identity.reset-password',
    subject: '[중고] 비밀번호 재설정 안내 (Reset your password)',
    nickname: oneLine(nickname),
    link: safeLink(link),
    intro: '비밀번호 재설정을 요청하셨습니다. 아래 링크를 열어 새 비밀번호를 설정해 주세요.',
    action: '비밀번호 재설정하기',
    outro: '요청하지 않으셨다면 이 메일은 무시하셔도 됩니다. 비밀번호는 바뀌지 않습니다.',
    english: 'please open the link above to choose a new password. If you did not ask for this, ignore this email; your password stays the same.',
  });
}

interface Parts {
  category: string;
  subject: string;
  nickname: string;
  link: string;
  intro: string;
  action: string;
  outro: string;
  english: string;
}

function render(p: Parts): MailContent {
  const text = [`${p.nickname}님, 안녕하세요.`, '', p.intro, p.link, '', p.outro, '', `Hi ${p.nickname}, ${p.english}`, '', '— 중고 (Junggo)', ''].join('\n');
  const nickname = escapeHtml(p.nickname);
  const link = escapeHtml(p.link);
  const html = `<!doctype html>
<html lang="ko">
<head><meta charset="utf-8"><title>${escapeHtml(p.subject)}</title></head>
<body style="font-family: sans-serif; line-height: 1.6; color: #222;">
<p>${nickname}님, 안녕하세요.</p>
<p>${escapeHtml(p.intro)}</p>
<p><a href="${link}" style="display: inline-block; padding: 10px 16px; background: #ff7e36; color: #fff; text-decoration: none; border-radius: 6px;">${escapeHtml(p.action)}</a></p>
<p style="font-size: 13px; color: #666;">${link}</p>
<p>${escapeHtml(p.outro)}</p>
<p lang="en" style="font-size: 13px; color: #666;">Hi ${nickname}, ${escapeHtml(p.english)}</p>
<p>— 중고 (Junggo)</p>
</body>
</html>
`;
  return { category: p.category, subject: p.subject, text, html };
}

/** For text and attribute values alike (both quote characters are escaped). */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

// A nickname with line breaks could fake extra paragraphs in the plain-text body.
const oneLine = (value: string) => value.replace(/[\r\n\u2028\u2029]+/g, ' ').trim();

// Only http(s): a `javascript:` link must never reach an href, whatever produced it.
function safeLink(link: string): string {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw new Error('mail link must be an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`mail link must be http(s), not ${url.protocol}`);
  return url.href;
}
