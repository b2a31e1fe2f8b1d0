import { createHash } from 'node:crypto';
import type { FieldError } from '../../../platform/errors';

// Posting rules for listing text (docs/listings.md lists every term and why). Korean has no
// spaces inside words and glues particles onto them, so a Korean term only counts at the start
// of a word (`기술` is not `술`), and each term lists the compounds that are legitimate goods
// (`와인잔` is a glass, `마약베개` a pillow). English terms count as whole words.

export type BlockRule =
  | 'prohibited_weapons'
  | 'prohibited_drugs'
  | 'prohibited_alcohol'
  | 'prohibited_tobacco'
  | 'prohibited_medicine'
  | 'counterfeit'
  | 'personal_data_sale'
  | 'phone_number'
  | 'bank_account'
  | 'off_platform_link';
export type FlagRule = 'off_platform_contact' | 'external_link';

export interface Finding {
  field: 'title' | 'description';
  rule: BlockRule | FlagRule;
  action: 'block' | 'flag';
  /** The text that matched, as normalised. */
  match: string;
}

interface Term {
  /** Korean (matched at a word start) or English (whole word). */
  term: string;
  /** Continuations that make it a legitimate item (`잔` after `와인`), with or without a space between. */
  except?: string[];
  /** Single-syllable words: also must end there (or take a particle), so `술술` and `술래` pass. */
  whole?: boolean;
}

interface ItemRule {
  rule: BlockRule;
  why: string;
  terms: (string | Term)[];
  /** Phrases rather than words (`계정 판매`). */
  patterns?: RegExp[];
}

// What honest sellers write about fakes: "가품 아닙니다" (it is not one), "가품일 경우 환불" (refund
// if it is), "가품은 팔지 않아요" (I do not sell them).
const DENIAL = ['아님', '아닙', '아니', 'x', '절대', '일 경우', '일경우', '시 환불', '이면', '면 환불', '판정', '은 팔지', '은 안', '는 팔지', '취급 안', '걱정', '의심'];
// Things for drinking, not drink: glasses, openers, fridges, colours (와인색).
// A box or a case is drink by the box ("소주 박스 20병") unless it is only the box.
const DRINKWARE = ['잔', '글라스', '컵', '셀러', '오프너', '랙', '냉장고', '병따개', '디캔터', '거치대', '색', '빛', '쿨러', '코르크', '마개', '거품기', '빈병', '공병', '디스펜서', '스토퍼', '케이스만', '박스만', '빈 박스', '빈박스'];

export const PROHIBITED_ITEMS: ItemRule[] = [
  {
    rule: 'prohibited_weapons',
    why: 'weapons cannot be sold',
    terms: ['총기', '권총', '소총', '엽총', '공기총', '가스총', '실탄', '탄약', '도검', '일본도', '장검', '석궁', '전기충격기', '테이저건', '수류탄', 'firearm', 'handgun', 'pistol', 'rifle', 'shotgun', 'ammunition', 'ammo', 'taser', 'crossbow'],
  },
  {
    rule: 'prohibited_drugs',
    why: 'narcotics cannot be sold',
    terms: [
      // 마약 is also marketing slang for "addictive" (마약베개, 마약김밥).
      { term: '마약', except: ['베개', '김밥', '쿠션', '방석', '토스트', '떡볶이', '옥수수', '빵', '매트', '이불', '젤리', '소스'] },
      { term: '대마', except: ['도'] },
      '필로폰', '히로뽕', '엑스터시', '케타민', '코카인', '헤로인', '아편', '환각제',
      'cocaine', 'heroin', 'marijuana', 'cannabis', 'methamphetamine', 'meth', 'mdma', 'lsd', 'ketamine',
    ],
  },
  {
    rule: 'prohibited_alcohol',
    why: 'alcohol may not be sold between individuals',
    terms: [
      { term: '술', whole: true },
      { term: '소주', except: DRINKWARE },
      { term: '맥주', except: DRINKWARE },
      { term: '양주', except: [...DRINKWARE, '시', '역'] },
      { term: '와인', except: DRINKWARE },
      { term: '위스키', except: DRINKWARE },
      { term: '막걸리', except: DRINKWARE },
      { term: '샴페인', except: DRINKWARE },
      { term: '사케', except: DRINKWARE },
      { term: '전통주', except: DRINKWARE },
      { term: '주류', except: DRINKWARE },
      // Not 청주 (rice wine): it is also a city of 850,000 whose name is in meet-up places.
      '보드카', '데킬라', '고량주',
      { term: 'wine', except: [' glass', ' rack', ' opener', ' cellar', ' fridge', ' cooler'] },
      { term: 'whisky', except: [' glass'] },
      { term: 'whiskey', except: [' glass'] },
      'vodka', 'liquor', 'soju', 'tequila',
    ],
  },
  {
    rule: 'prohibited_tobacco',
    why: 'tobacco cannot be sold',
    terms: [{ term: '담배', except: ['케이스', '곽', '파우치'] }, '전자담배', '궐련', '연초', '니코틴', '액상담배', '아이코스', 'cigarette', 'cigarettes', 'tobacco', 'nicotine', 'vape', 'iqos'],
  },
  {
    rule: 'prohibited_medicine',
    why: 'medicines cannot be sold',
    terms: ['처방약', '처방전', '의약품', '전문의약품', '수면제', '비아그라', '시알리스', '졸피뎀', '다이어트약', '식욕억제제', '항생제', '마취제', 'prescription', 'viagra', 'cialis', 'xanax', 'zolpidem', 'oxycodone', 'adderall'],
  },
  {
    rule: 'counterfeit',
    why: 'counterfeit goods cannot be sold',
    terms: [
      { term: '레플리카', except: DENIAL },
      { term: '레플', except: [...DENIAL, '리카', '렉'] },
      { term: '짝퉁', except: DENIAL },
      { term: '이미테이션', except: DENIAL },
      { term: '가품', except: DENIAL },
      '미러급', '정품급',
      { term: 'replica', except: [' x'] },
      'counterfeit', 'knockoff', 'imitation',
    ],
  },
  {
    rule: 'personal_data_sale',
    why: 'accounts and personal data cannot be sold',
    terms: ['대포폰', '대포통장', '대포차', { term: '주민등록증', except: ['케이스', '지갑', '홀더'] }, '주민번호', { term: '신분증', except: ['케이스', '지갑', '홀더', '목걸이'] }],
    patterns: [
      /개인\s?정보\s?(판매|팝니다|양도|삽니다|db|디비)/u,
      /(계정|아이디|id)\s?(판매|팝니다|팔아요|양도|거래)/u,
      /명의\s?(판매|대여|양도|빌려)/u,
      /통장\s?(판매|대여|양도|삽니다|임대)/u,
      /\b(account|accounts)\s+for\s+sale\b/u,
      /\bselling\s+(my\s+)?(account|accounts|id)\b/u,
    ],
  },
];

// Separators people put between characters to dodge filters ("마.약", "마~약", "마ㆍ약", "마 . 약"):
// up to two of anything that is not a Latin letter, a digit, a Hangul syllable or a space, with a
// space on either side allowed (a bare space is the spaced form, below). (Not \p{L}: a Unicode
// property class in each of ~150 patterns costs seconds to compile in V8.)
const SEP = '(?:[^a-z0-9가-힣\\s]{0,2}|\\s?[^a-z0-9가-힣\\s]{1,2}\\s?)';
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const isHangul = (s: string) => /[가-힣]/.test(s);

function termPattern(t: Term): RegExp {
  const except = t.except?.length ? `(?!\\s?(?:${t.except.map((e) => escape(e.trim())).join('|')}))` : '';
  if (isHangul(t.term)) {
    const end = t.whole ? '(?=$|[^가-힣]|(을|이|은|도|과|와|로|만)(?![가-힣]))' : '';
    const joined = [...t.term].map(escape).join(SEP);
    // Every syllable a word of its own ("마 약 팝니다", "대 마 초"): prose does not do that.
    const spaced = t.term.length > 1 ? `|${[...t.term].map(escape).join(' ')}(?![가-힣])` : '';
    return new RegExp(`(?<![가-힣])(?:${joined}${spaced})${except}${end}`, 'u');
  }
  // English: a plural is the same word ("pistols", "vapes").
  const body = [...t.term].map(escape).join(SEP);
  return new RegExp(`(?<![a-z0-9])${body}(?:e?s)?(?![a-z0-9])${except}`, 'u');
}

const ITEM_MATCHERS = PROHIBITED_ITEMS.map((r) => ({
  rule: r.rule,
  why: r.why,
  patterns: [...r.terms.map((t) => termPattern(typeof t === 'string' ? { term: t } : t)), ...(r.patterns ?? [])],
}));

// Digits written with separators between them ("010 - 1234", "010ㅡ1234": the Hangul vowel ㅡ
// looks like a dash; NFKC turns it into the medial vowel U+1173), or with o/O and 공 standing in for zero.
// Between digits: up to three of anything that is not a Latin letter, a digit, a Hangul syllable,
// a comma or a colon (spaces, dashes, dots, emoji: "010🌸1234🌸5678"). Commas and colons separate
// lists and times ("01, 02, 06호", "01:00~06:00"), so they count only in a number's own grouping
// ("010,1234,5678", "02:1234:5678").
const DASHES = 'ㅡ\\u1173';
const D = '[^a-z0-9가-힣,:]{0,3}';
const ANY_SEPARATOR = '[^a-z0-9가-힣]{1,3}';
const PHONE_PATTERNS = [
  new RegExp(`(?<!\\d)(?:01[016789]|02|0[3-6][1-5]|070|050[2-8]|\\+?82${ANY_SEPARATOR}1[016789])${ANY_SEPARATOR}\\d{3,4}${ANY_SEPARATOR}\\d{4}(?!\\d)`, 'u'),
  new RegExp(`(?<!\\d)0${D}1${D}[016789](?:${D}\\d){7,8}(?!\\d)`, 'u'),
  new RegExp(`(?<!\\d)\\+?82${D}1${D}[016789](?:${D}\\d){7,8}(?!\\d)`, 'u'),
  new RegExp(`(?<!\\d)0${D}(?:2|[3-6]${D}[1-5])(?:${D}\\d){7,8}(?!\\d)`, 'u'),
  // Internet phones (070) and personal safe numbers (050x).
  new RegExp(`(?<!\\d)0${D}(?:7${D}0|5${D}0${D}[2-8])(?:${D}\\d){7,8}(?!\\d)`, 'u'),
];
// Not the bare 하나 (one), 우리 (our), 국민 or 토스, which everyday sentences use.
const BANKS =
  '국민은행|kb|신한|우리은행|하나은행|농협|nh|기업은행|ibk|카카오뱅크|카뱅|토스뱅크|케이뱅크|새마을금고|새마을|우체국은행|sc제일|제일은행|씨티|수협|신협|부산은행|대구은행|경남은행|광주은행|전북은행|제주은행|산업은행|계좌번호|계좌|입금|송금|예금주';
// Numbers that name something else: tracking numbers, serials, IMEIs, orders, barcodes.
// The label must come right before the number ("송장번호 6078…", "IMEI: 3541…"): a word elsewhere
// in the sentence ("택배 가능, 신한 110-…") does not make an account number something else.
const NOT_ACCOUNT = '(?<!(?:송장|운송장|택배|imei|시리얼|serial|s/n|sn|주문|일련|바코드|제조|모델|품번|코드)(?:\\s?(?:번호|넘버|명))?(?:는|은)?\\s?[:#.\\-]?\\s?)';
// An account number (10-16 digits) with a bank or payment word up to 15 characters before or after it.
// (The label's lookbehind only where a number starts: elsewhere it would rescan at every character.)
// Between its digits, the phone rule's separators (D: "110 - 123 - 456789", "110.123.456789", "110🌸123").
const ACCOUNT_NUMBER = `(?<!\\d)(?=\\d)${NOT_ACCOUNT}\\d(?:${D}\\d){9,15}(?!\\d)`;
const BANK_ACCOUNT = new RegExp(`(?:${BANKS})[^\\d]{0,15}${ACCOUNT_NUMBER}|${ACCOUNT_NUMBER}[^\\d]{0,15}(?:${BANKS})`, 'u');
const OFF_PLATFORM_LINK = /([o0]pen[\s_\-.]?kakao|pf\.kakao\.com|qr\.kakao\.com|kakao\.com\/o\/|(?<![a-z])t\.me\/|telegram\.me|line\.me\/|band\.us\/)/gu;
// A handle after a messenger's name ("카톡 mangwon77", "텔레 @x"), so that what a moderator
// approves is that id, not merely the word.
const HANDLE = '(?:\\s?[:：]?\\s?@?[a-z0-9][a-z0-9_.\\-]{2,29})?';
const OFF_PLATFORM_CONTACT = new RegExp(
  [
    `(?:카톡|카카오톡|카카오)\\s?(?:아이디|아디|id|주세요|으로|로\\s?연락|친추|추가)${HANDLE}`,
    `(?<![a-z0-9가-힣])(?:카톡|katalk|\\u110F\\u1110|텔레|tg)\\s?[:：]?\\s?@?[a-z][a-z0-9_.\\-]{2,29}`,
    // ㅋㅌ alone (NFKC turns these letters into the initial consonants U+110F, U+1110).
    '(?<![\\u1100-\\u11FF])\\u110F\\u1110(?![\\u1100-\\u11FF])',
    '오픈\\s?(?:채팅|카톡|톡|카카오)',
    '(?<![가-힣])오카방?(?![가-힣])',
    `텔레그램${HANDLE}`,
    `(?<![가-힣])라인\\s?(?:아이디|id)${HANDLE}`,
    `\\bkakao\\s?(?:id|talk)\\b${HANDLE}`,
    `\\b(?:telegram|whatsapp|wechat)\\b${HANDLE}`,
    `위챗${HANDLE}`,
    // An e-mail address is a way around the chat too.
    '(?<![a-z0-9._%+\\-])[a-z0-9._%+\\-]+@[a-z0-9\\-]+(?:\\.[a-z0-9\\-]+)*\\.[a-z]{2,}',
  ].join('|'),
  'gu',
);
// Domain endings that are also English words (`to`, `top`, `info`, `tv`...) are links only as
// written; the spaced-out form ("naver . com") counts for the unambiguous ones, or every
// sentence's full stop before "To be honest" would be a link.
// The whole host and path are the finding (an approval of `smartstore.naver.com/a` is not one of `/b`).
const linkPattern = (endings: string) =>
  new RegExp(`(https?:\\/\\/[^\\s가-힣]+|www\\.[^\\s가-힣]+|(?<![a-z0-9@.-])(?:[a-z0-9-]+\\.)*[a-z0-9-]{2,}\\.(?:${endings})(?![a-z])(?:\\/[^\\s가-힣]*)?)`, 'gu');
// (Any of them followed by a path is a link even spaced out: "naver . me/abc".)
const SPACED_LINK_ENDINGS = 'com|net|org|kr|co\\.kr|io|ly|gl|xyz|(?:me|co|shop|store|site|info|biz|link|app|top|to|cc|tv)(?=\\/)';
const EXTERNAL_LINK = linkPattern(`${SPACED_LINK_ENDINGS}|me|co|shop|store|site|info|biz|link|app|top|to|cc|tv`);
const SPACED_EXTERNAL_LINK = linkPattern(SPACED_LINK_ENDINGS);

// Latin look-alikes from Cyrillic and Greek ("vodkа" with a Cyrillic а), for matching only.
const CONFUSABLES: Record<string, string> = {
  а: 'a', в: 'b', е: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x', і: 'i', ј: 'j', ѕ: 's', ԁ: 'd', ԛ: 'q', ԝ: 'w',
  α: 'a', β: 'b', ε: 'e', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x',
};
const CONFUSABLE = new RegExp(`[${Object.keys(CONFUSABLES).join('')}]`, 'gu');

// Digits NFKC leaves as they are: every script's decimal digits (Arabic-Indic ٠١٠, Devanagari
// ०१०, …; Unicode puts each script's in a run of ten from its zero, so a digit's value is its
// distance from the start of its run, mod 10) and the dingbat and negative circled digits
// (❶ ➀ ➊ ⓵ ⓿ ⓫), which unlike ① have no compatibility form.
const OTHER_DIGIT = /(?![0-9])[\p{Nd}\u2776-\u2793\u24EB-\u24FF]/gu;
const isDecimal = (cp: number) => /\p{Nd}/u.test(String.fromCodePoint(cp));
function asciiDigits(c: string): string {
  const cp = c.codePointAt(0)!;
  if (cp === 0x24ff) return '0';
  if (cp >= 0x24eb && cp <= 0x24f4) return String(cp - 0x24eb + 11);
  if (cp >= 0x24f5 && cp <= 0x24fe) return String(cp - 0x24f5 + 1);
  if (cp >= 0x2776 && cp <= 0x2793) return String(((cp - 0x2776) % 10) + 1);
  let zero = cp;
  while (isDecimal(zero - 1)) zero--;
  return String((cp - zero) % 10);
}

/**
 * Lower case, compatibility forms folded (full-width, circled digits), every script's digits as
 * ASCII, invisible characters gone (format characters, variation selectors, the combining
 * grapheme joiner, Hangul fillers), look-alike letters, dashes and full stops folded to their
 * ASCII forms.
 */
export function normaliseText(text: string): string {
  return text
    .normalize('NFKC')
    .replace(OTHER_DIGIT, asciiDigits)
    .toLowerCase()
    .replace(/[\p{Cf}\uFE00-\uFE0F\u034F\u115F\u1160\u3164\uFFA0]/gu, '')
    .replace(CONFUSABLE, (c) => CONFUSABLES[c]!)
    .replace(/[\u2010-\u2015\u2212\uFE58\uFE63]/gu, '-')
    .replace(/[\u3002\uFF0E]/gu, '.');
}

const HANGUL_DIGITS: Record<string, string> = { 공: '0', 영: '0', 일: '1', 이: '2', 삼: '3', 사: '4', 오: '5', 육: '6', 륙: '6', 칠: '7', 팔: '8', 구: '9' };
// Nine or more digit words in a row, spaces or dashes between them ("공일공 일이삼사 오육칠팔로"). Prose
// never strings that many together, so words like 사과 or 이사 are left alone; and what is turned
// into digits still has to look like a phone or account number to be refused.
// Digits and digit words mixed ("010 일이삼사 오육칠팔"): a run of ten or more with at least one of each.
const MIXED_NUMBER = new RegExp(`(?:[0-9공영일이삼사오육륙칠팔구][\\s\\-.${DASHES}]{0,2}){9}[0-9공영일이삼사오육륙칠팔구](?:[\\s\\-.${DASHES}]{0,2}[0-9공영일이삼사오육륙칠팔구])*`, 'gu');
const HANGUL_NUMBER = new RegExp(`(?:[공영일이삼사오육륙칠팔구][\\s\\-.${DASHES}]{0,2}){8}[공영일이삼사오육륙칠팔구](?:[\\s\\-.${DASHES}]{0,2}[공영일이삼사오육륙칠팔구])*`, 'gu');

/** For the contact detectors only: letters and words that stand in for digits, dots spelled out. */
function digitsAndDots(text: string): string {
  return text
    // One space for every run first: the `\s*` around dots below would otherwise rescan a long
    // run of spaces from each of its positions (quadratic: ~19 ms for 4,000 spaces).
    .replace(/\s+/g, ' ')
    .replace(HANGUL_NUMBER, (run) => run.replace(/[공영일이삼사오육륙칠팔구]/g, (c) => HANGUL_DIGITS[c]!))
    .replace(MIXED_NUMBER, (run) => (/\d/.test(run) ? run.replace(/[공영일이삼사오육륙칠팔구]/g, (c) => HANGUL_DIGITS[c]!) : run))
    .replace(/공일공/g, '010')
    .replace(/(?<=[\d\s\-.])[o](?=[\d\s\-.])|(?<=\d)[o]|[o](?=\d)/g, '0')
    .replace(/(?<=\d)[l|i](?=\d)/g, '1')
    .replace(/\s*(\.|닷|dot)\s*(?=(com|kakao|me\/|kr|net)\b)/g, '.')
    .replace(/\s*\.\s*/g, '.')
    .replace(/(?<=[a-z0-9])\s*\/\s*(?=[a-z0-9])/g, '/');
}

function inspect(field: Finding['field'], raw: string): Finding[] {
  const text = normaliseText(raw);
  const findings: Finding[] = [];
  // Runs of spaces and line breaks as one space: "권  총" and "마\n약" are the spaced forms.
  const words = text.replace(/\s+/g, ' ');
  for (const matcher of ITEM_MATCHERS) {
    for (const pattern of matcher.patterns) {
      const m = pattern.exec(words);
      if (m) {
        findings.push({ field, rule: matcher.rule, action: 'block', match: m[0] });
        break;
      }
    }
  }
  const contact = digitsAndDots(text);
  const phone = PHONE_PATTERNS.map((p) => p.exec(contact)).find(Boolean);
  if (phone) findings.push({ field, rule: 'phone_number', action: 'block', match: phone[0] });
  const account = BANK_ACCOUNT.exec(contact);
  if (account) findings.push({ field, rule: 'bank_account', action: 'block', match: account[0] });
  const link = contact.match(OFF_PLATFORM_LINK);
  if (link) findings.push({ field, rule: 'off_platform_link', action: 'block', match: link[0]! });
  // Every mention and link, not only the first: what a moderator approves is all of them.
  for (const m of text.matchAll(OFF_PLATFORM_CONTACT)) findings.push({ field, rule: 'off_platform_contact', action: 'flag', match: m[0].trim() });
  if (!link) {
    // A sentence's full stop is not part of a link; a link found both as written and spaced out
    // ("naver.com / abc") is one finding, its longer form.
    const urls = [...new Set([...text.matchAll(EXTERNAL_LINK), ...contact.matchAll(SPACED_EXTERNAL_LINK)].map((m) => m[0].replace(/[.,!?)\]]+$/, '')))];
    for (const url of urls) if (!urls.some((other) => other !== url && other.startsWith(url))) findings.push({ field, rule: 'external_link', action: 'flag', match: url });
  }
  return findings;
}

const WHY: Record<BlockRule, string> = {
  ...(Object.fromEntries(PROHIBITED_ITEMS.map((r) => [r.rule, r.why])) as Record<BlockRule, string>),
  phone_number: 'contact details are exchanged in the chat, not in listings',
  bank_account: 'payments go through the platform, never to an account in a listing',
  off_platform_link: 'deals stay on the platform (no open-chat or messenger links)',
};

export interface ModerationResult {
  /** Refusals, as problem field errors (`pointer`, `code` = rule). Empty when the text may be posted. */
  blocked: FieldError[];
  /** The listing may be posted but goes to a moderator's queue. */
  flagged: boolean;
  findings: Finding[];
}

/**
 * What a moderator approves when clearing a flag: the flag findings (field, rule, text), in a
 * stable order. An edit that finds exactly these again is not flagged again; a new one is.
 * Null when nothing would flag the text.
 */
export function flagFingerprint(findings: Finding[]): string | null {
  const flags = findings.filter((f) => f.action === 'flag').map((f) => `${f.field}\u0000${f.rule}\u0000${f.match}`);
  if (!flags.length) return null;
  return createHash('sha256').update([...new Set(flags)].sort().join('\u0001')).digest('base64url');
}

/** Checks a listing's title and description against the posting rules. */
export function moderateListing(texts: { title: string; description: string }): ModerationResult {
  const findings = [...inspect('title', texts.title), ...inspect('description', texts.description)];
  const blocked = findings
    .filter((f) => f.action === 'block')
    .map((f): FieldError => ({ pointer: `/${f.field}`, code: f.rule, detail: `"${f.match.trim()}" in the ${f.field}: ${WHY[f.rule as BlockRule]}.` }));
  return { blocked, flagged: blocked.length === 0 && findings.some((f) => f.action === 'flag'), findings };
}
