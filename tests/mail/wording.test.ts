/**
 * The wording of an official notice: every template the service ships, rendered with sample data
 * through all its branches, and the Chinese problem texts, use full-width punctuation next to
 * Chinese characters; dates are written 2020年6月21日 9:00; each mail ends with its date.
 */
import { parseDocument, DomUtils } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { chineseDate, chineseStamp, localStamp } from '../../src/core/calendar.js';
import { formatName } from '../../src/core/notes.js';
import { problemFor } from '../../src/core/reply.js';
import { contactLine, signature } from '../../src/cycle/signature.js';
import { UNREADABLE_PROBLEM } from '../../src/cycle/unreadable.js';
import { ErrorCodes } from '../../src/errors.js';
import { Templates, type MailKind, type RenderedMail } from '../../src/mail/templates.js';

const CJK = '\\u3400-\\u9fff\\uf900-\\ufaff';
/** A half-width , : ; ( ) with a Chinese character on either side. */
const HALF_WIDTH = new RegExp(`[${CJK}][,:;()]|[,:;()][${CJK}]`, 'u');

/** The half-width marks next to Chinese, with a little context, in a text. */
function halfWidth(text: string): string[] {
  const found: string[] = [];
  const re = new RegExp(HALF_WIDTH.source, 'gu');
  for (const m of text.matchAll(re)) found.push(text.slice(Math.max(0, m.index - 8), m.index + 10));
  return found;
}

function partsOf(mail: RenderedMail): string[] {
  return [mail.subject, mail.text, DomUtils.textContent(parseDocument(mail.html ?? ''))];
}

const sign = { officeName: '濮阳市科学技术局办公室', sentDate: '2020年6月26日', contactLine: '（联系人：张三，电话：0393-1234567）' };
const person = { name: '王群才', department: '办公室', email: 'w@x.cn' };
const rows = [{ no: 1, task: '完善政府立法程序', progress: '已起草实施办法', remark: '见附件' }];
const notes = { format: 'Excel 97-2003 工作簿（.xls）', filename: '进展.xls', foreign: '第3、4项', renamed: '第1项' };
const receiptBase = {
  ...sign, personName: '艾延坤', periodLabel: '2020年6月', receivedAt: '2020年6月21日 9:00', rows, emptyRows: [{ no: 2, task: '提高公众参与度' }],
  sender: 'clerk@x.cn', echo: true, echoCut: true, notes, others: [],
};
const ledgerBase = {
  ...sign, officeName: '办公室', signedBy: sign.officeName, periodLabel: '2020年6月', ledgerTitle: '工作台账', attachmentName: '2020年6月工作台账汇总（第2版）.xlsx',
  generatedAt: '2020年7月1日 9:00', version: 2, total: 4, reported: 2, onTime: 1, late: 1, missing: ['李世想'], bounced: ['马红霞'],
  departments: [{ name: '政法科', reported: 1, total: 2 }], unchanged: [{ no: 3, task: '规范性文件' }],
  changes: [
    { name: '艾延坤', what: '逾期报送', at: '2020年7月2日 9:00', sentBy: '王群才', tasks: '1、2', count: 2, extra: '，期间共收到2份，以最后一份为准' },
    { name: '李世想', what: '更正', at: '2020年7月3日 9:00', tasks: '', count: 1, extra: '' },
  ],
  changedRows: [{ no: 1, task: '完善政府立法程序', fields: '进展情况、备注' }],
};

/** Every kind with data that takes each of its branches. */
const SAMPLES: [MailKind, string, object][] = [
  ['request', 'request', { ...sign, person, periodLabel: '2020年6月', deadline: '2020年6月30日', ledgerTitle: '工作台账', attachmentName: '表.xlsx', tasks: [{ no: 1, task: '完善程序', due: '10.31', departments: '政法科', requirements: '按时完成' }] }],
  ['reminder', 'reminder', { ...sign, person, periodLabel: '2020年6月', deadline: '2020年6月30日', attachmentName: '表.xlsx', taskCount: 3 }],
  ['receipt', 'accepted, late, on behalf, moved, correction', { ...receiptBase, accepted: true, late: true, onBehalfOf: true, movedFrom: '2020年5月', movedByForm: true, movedClosed: true, correction: true, others: [{ personName: '马红霞', periodLabel: '2020年6月', rows, movedFrom: '2020年5月' }, { personName: '李世想', periodLabel: '2020年6月', held: true, rows }] }],
  ['receipt', 'accepted without echo, confirmed', { ...receiptBase, accepted: true, echo: false, confirmed: true, heldSender: 'a@x.cn', notOwnForm: true }],
  ['receipt', 'rejected', { ...receiptBase, accepted: false, ...problemFor('NO_ATTACHMENT') }],
  ['receipt', 'held', { ...receiptBase, accepted: false, held: true }],
  ['receipt', 'typed in the body, added to an earlier report', { ...receiptBase, accepted: true, body: { merged: true, noProgress: false }, notes: { foreign: '第3项', inBody: true } }],
  ['receipt', 'forwarded to the office, form attached', { ...receiptBase, accepted: false, forwarded: true, formAttached: true, notes: undefined }],
  ['receipt', 'kept for the desk', { ...receiptBase, accepted: false, forwarded: true, deskOnly: true, formAttached: true, notes: undefined }],
  ['reminder', 'partial', { ...sign, person, periodLabel: '2020年6月', deadline: '2020年6月30日', attachmentName: '表.xlsx', taskCount: 3, partial: true, emptyRows: [{ no: 2, task: '提高公众参与度' }] }],
  ['forward', 'forward', { ...sign, addressee: '办公室', personName: '马红霞', department: '机关总支', sender: 'ma@x.cn', subject: '回复：请填报', receivedAt: '2020年6月21日 9:00', periodLabel: '2020年6月', text: '请问第14项是否由我牵头？', cut: true, attached: true, folder: '台账-需补正', formBack: true }],
  ['forward', 'too large to attach', { ...sign, addressee: '办公室', personName: '马红霞', department: '机关总支', sender: 'ma@x.cn', subject: '', receivedAt: '2020年6月21日 9:00', text: '问题', attached: false, folder: '台账-需补正' }],
  ['notice', 'recorded', { ...sign, personName: '艾延坤', periodLabel: '2020年6月', sender: '王群才（办公室，w@x.cn）', receivedAt: '2020年6月21日 9:00', rows, emptyRows: [{ no: 2, task: '提高公众参与度' }], echoCut: true }],
  ['notice', 'held', { ...sign, personName: '艾延坤', periodLabel: '2020年6月', sender: 'w@x.cn', receivedAt: '2020年6月21日 9:00', rows, emptyRows: [], held: true }],
  ['ledger', 'final', ledgerBase],
  ['ledger', 'preview', { ...ledgerBase, preview: true }],
  ['ledger', 'update', { ...ledgerBase, update: true }],
];

describe('wording in the style of an official notice', () => {
  it.each(SAMPLES)('%s (%s): no half-width , : ; ( ) next to Chinese in subject, text or HTML', (kind, _case, data) => {
    const mail = new Templates().render(kind, data);
    for (const part of partsOf(mail)) expect(halfWidth(part)).toEqual([]);
  });

  it('the scan finds the half-width marks it looks for', () => {
    expect(halfWidth('艾延坤同志:您好(测试),谢谢;')).toHaveLength(5);
    expect(halfWidth('2020年6月21日 9:00收到；a:b, (c)')).toEqual([]);
  });

  it('every problem, fix and file-format name a person reads is full-width', () => {
    const codes = [...Object.keys(ErrorCodes), 'NO_ATTACHMENT', 'NOT_FILLED', 'NOT_OURS', 'CLOSED'] as Parameters<typeof problemFor>[0][];
    const kinds = ['xls', 'et', 'ods', 'xlsb', 'csv', 'doc', 'zip-other', 'unknown', undefined];
    const texts = [
      ...codes.flatMap((c) => Object.values(problemFor(c))),
      ...kinds.flatMap((k) => [...Object.values(problemFor('SHEET_UNSUPPORTED', k)), formatName(k)]),
      ...Object.values(UNREADABLE_PROBLEM),
    ];
    for (const t of texts) expect(halfWidth(t), t).toEqual([]);
  });

  it('every mail ends with the office and, under it, the date it was written', () => {
    for (const [kind, , data] of SAMPLES) {
      const mail = new Templates().render(kind, data);
      const signer = kind === 'ledger' ? ledgerBase.signedBy : sign.officeName;
      expect(mail.text, kind).toContain(`\n${signer}\n2020年6月26日\n（本邮件由台账系统自动发送）`);
      expect(mail.html, kind).toContain(`${signer}<br>2020年6月26日</p>`);
    }
  });

  it('mails to people name the office\'s contact and phone when configured, and no number when not', () => {
    for (const [kind, , data] of SAMPLES.filter(([k]) => k !== 'ledger' && k !== 'forward')) {
      const mail = new Templates().render(kind, data);
      expect(mail.text, kind).toContain('与办公室联系（联系人：张三，电话：0393-1234567）。');
      expect(mail.html, kind).toContain('与办公室联系（联系人：张三，电话：0393-1234567）。');
      const none = new Templates().render(kind, { ...data, contactLine: '' });
      expect(none.text, kind).toMatch(/请(及时)?与办公室联系。/);
    }
  });

  it('the updated ledger names each report that arrived since the last version and each row that changed', () => {
    const mail = new Templates().render('ledger', { ...ledgerBase, update: true });
    expect(mail.text).toContain('本版变动（与上一版相比）：\n（一）上一版以来收到的报送：\n');
    expect(mail.text).toContain('艾延坤：逾期报送（2020年7月2日 9:00收到，由王群才报送，期间共收到2份，以最后一份为准），涉及第1、2项');
    expect(mail.text).toContain('李世想：更正（2020年7月3日 9:00收到），内容与上一版相同');
    expect(mail.text).toContain('（二）内容有变动的任务（1项）：\n  第1项　完善政府立法程序（进展情况、备注）');
    expect(mail.html).toContain('<li>第1项　完善政府立法程序（进展情况、备注）</li>');
    const noRows = new Templates().render('ledger', { ...ledgerBase, update: true, changedRows: [] });
    expect(noRows.text).not.toContain('（二）');
  });

  it('what a person wrote is kept as written, half-width marks and all', () => {
    const words = '第一项:已完成,待审核(见附件);下月继续';
    const mail = new Templates().render('receipt', { ...receiptBase, accepted: true, rows: [{ ...rows[0], progress: words }] });
    expect(mail.text).toContain(`进展情况：${words}`);
    expect(DomUtils.textContent(parseDocument(mail.html!))).toContain(words);
  });
});

describe('dates as people read them', () => {
  const at = new Date('2020-06-21T01:05:00Z'); // 9:05 in Shanghai
  it('chineseStamp writes 2020年6月21日 9:05, with no leading zeros but the minutes\'', () => {
    expect(chineseStamp(at, 'Asia/Shanghai')).toBe('2020年6月21日 9:05');
    expect(chineseStamp('2020-12-31T15:59:00.000Z', 'Asia/Shanghai')).toBe('2020年12月31日 23:59');
    expect(chineseStamp('2020-06-30T16:00:00.000Z', 'Asia/Shanghai')).toBe('2020年7月1日 0:00');
    expect(chineseDate(at, 'Asia/Shanghai')).toBe('2020年6月21日');
    expect(localStamp(at, 'Asia/Shanghai')).toBe('2020-06-21 09:05'); // the machine-readable form stays
  });

  it('the signature: the sender name, the date in the configured zone, and the contact line', () => {
    const config = { mailbox: { senderName: '办公室' }, timezone: 'Asia/Shanghai' } as Parameters<typeof signature>[0];
    expect(signature({ ...config, officePhone: '0393-1234567' }, new Date('2020-06-20T16:30:00Z'))).toEqual({ officeName: '办公室', sentDate: '2020年6月21日', contactLine: '（电话：0393-1234567）' });
    expect(contactLine({ officeContact: '张三' })).toBe('（联系人：张三）');
    expect(contactLine({ officeContact: '张三', officePhone: '0393-1234567' })).toBe('（联系人：张三，电话：0393-1234567）');
    expect(contactLine({})).toBe('');
  });
});
