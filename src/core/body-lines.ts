/**
 * The lines of a mail body its sender wrote for this mail: everything before the mail it quotes
 * (Outlook, Foxmail, 163, QQ and iPhone separators and headers, ">" lines), its signature and
 * closing (此致 敬礼, "-- ", 发自我的iPhone, name and title lines) and any disclaimer. Pure.
 */

/** Where the quoted earlier mail begins: nothing from here on is the sender's. */
const QUOTE_HEADERS: RegExp[] = [
  /^[-—_=\s]*(原始邮件|原邮件|转发邮件|Original Message|Original|Forwarded message|Forwarded|回复的原邮件)[-—_=\s]*$/i,
  /^_{8,}\s*$/, // Outlook's rule above the quoted headers
  /^(发件人|寄件人|寄件者|From)\s*[:：]/i,
  /^(发送时间|日期|Sent|Date)\s*[:：].*\d/i,
  /(写道|寫道|wrote)\s*[:：]?\s*$/i,
  /^(在|於|On)\s.*(\d{4}|\d{1,2}:\d{2}).*(@|<)/i, // the first half of a wrapped "在 …写道：" / "On … wrote:"
];

/** Where the sender's signature or closing begins. */
const SIGNATURE_STARTS: RegExp[] = [
  /^--\s*$/, // RFC 3676 "-- ", and "--" as clients send it
  /^[-—_=*~·.]{5,}\s*$/, // a rule drawn under the text
  // 发自我的iPhone, 发自网易邮箱大师, 来自QQ邮箱, Sent from my iPhone (not 来自省厅的督导组…)
  /^(发自|来自|寄自|从)\s*(我的|网易|QQ|腾讯|手机|iPhone|iPad|Android|华为|小米|荣耀|OPPO|vivo|三星|魅族|一加|Outlook|Foxmail|WPS|钉钉|企业微信|移动|电信|联通|139|189|Mail|邮箱)/i,
  /^(Sent from|Get Outlook)/i,
  /^(此致|敬礼|此致敬礼|顺颂|顺祝|祝好|祝工作顺利|Best|Regards|Best regards|Thanks|Cheers)[\s,，。.!！]*$/i,
  /^此致[\s　]*敬礼/,
];

/** Disclaimers and confidentiality notices that mail servers append. */
const DISCLAIMERS = /免责声明|保密声明|保密提示|本邮件(及其附件)?(可能)?(含有|包含|仅供|仅限)|此邮件(及其附件)?.{0,10}(保密|机密)|CONFIDENTIAL|DISCLAIMER|This (e-?mail|message)( and any attachments?)? (is|are|may|contains?)/i;

/** Lines longer than this are never a quote header, closing or signature. */
const MAX_MARK_LINE = 300;

/** A line from which nothing more is the sender's own words for this mail. */
export function isStopLine(line: string): boolean {
  const t = line.trim();
  if (t.length > MAX_MARK_LINE) return false; // headers and closings are short; long lines are words (and cheap to pass)
  return QUOTE_HEADERS.some((re) => re.test(t)) || SIGNATURE_STARTS.some((re) => re.test(t)) || DISCLAIMERS.test(t);
}

/** Words a name-and-title line is made of, besides the name and department. */
const TITLE_WORDS = /(同志|科长|副科长|主任|副主任|局长|副局长|处长|副处长|书记|科员|干事|主任科员|股长|站长|所长|敬上|谨上|上|呈|报|电话|手机|联系电话|办公电话|邮箱|Tel|Mobile|E-?mail)/gi;

/**
 * A signature line of `person`: their name, department, title, phone or address and nothing
 * else (王群才 / 政法科 王群才 / 电话：0393-1234567 / wang@example.gov.cn), or a closing word.
 */
export function isSignatureLine(line: string, person: { name: string; department: string }): boolean {
  const t = line.trim();
  if (t === '' || t.length > MAX_MARK_LINE) return false;
  if (/^[\w.+-]+@[\w-]+(\.[\w-]+)+$/.test(t)) return true;
  if (/^(谢谢|感谢|多谢|辛苦了?|请审阅|请查收|请审核|请指正|特此报告|以上|妥否)[\s\p{P}]*(请审阅|请查收|请指正)?[\s\p{P}]*$/u.test(t)) return true;
  const name = person.name.replace(/[\s　]/g, '');
  const compact = t.replace(/[\s　]/g, '');
  let rest = compact;
  let named = false;
  for (const part of [name, person.department]) {
    if (part && part.length >= 2 && rest.includes(part)) {
      rest = rest.split(part).join('');
      named = true;
    }
  }
  rest = rest.replace(TITLE_WORDS, '').replace(/[\d\p{P}\p{S}]/gu, '');
  const phoneOnly = /^(电话|手机|联系电话|办公电话|Tel|Mobile)?[\s:：]*[\d\-—()（）\s+]{7,}$/i.test(t);
  return (named && rest === '') || phoneOnly;
}

/** The lines the sender wrote, up to the first quote header, signature start or disclaimer; ">" lines skipped. */
export function ownLines(body: string, person?: { name: string; department: string }): string[] {
  const out: string[] = [];
  for (const raw of body.replace(/\r\n?/g, '\n').split('\n')) {
    const line = raw.replace(/[\u00a0\u200b\ufeff]/g, ' ');
    if (/^\s*(>|＞)/.test(line)) continue;
    if (isStopLine(line)) break;
    if (person && out.some((l) => l.trim() !== '') && isSignatureLine(line, person)) break;
    out.push(line.trimEnd());
  }
  while (out.length && out[out.length - 1].trim() === '') out.pop();
  return out;
}

const HAN_DIGITS: Record<string, number> = { 零: 0, 〇: 0, 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };

/** 一 … 九百九十九 as a number; NaN when it is not one. */
export function chineseNumber(s: string): number {
  let total = 0;
  let digit = -1;
  for (const c of s) {
    if (c in HAN_DIGITS) digit = HAN_DIGITS[c];
    else if (c === '十' || c === '百') {
      total += (digit < 0 ? 1 : digit) * (c === '十' ? 10 : 100);
      digit = -1;
    } else return NaN;
  }
  return total + (digit > 0 ? digit : 0);
}
