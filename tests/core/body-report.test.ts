/**
 * Progress typed in a mail body: the sender's own lines (quotes, signatures and disclaimers left
 * out) and the tasks they name, over bodies as Outlook, Foxmail, 163 webmail, iPhone Mail and QQ
 * Mail write them (tests/fixtures/eml, made by make-body-fixtures.mjs), read as the parse worker
 * reads them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { isNoProgress, looksLikeQuestion, mentionsAttachment, ownLines, readBodyReport } from '../../src/core/body-report.js';
import { chineseNumber, isSignatureLine } from '../../src/core/body-lines.js';
import { bodyText } from '../../src/parse/read-mail.js';

const config = loadConfig(path.join(import.meta.dirname, '..', '..', 'config', 'taizhang.example.yaml'), { TAIZHANG_MAIL_PASSWORD: 'x' });
const { ledger } = config;
const person = (name: string) => config.people.find((p) => p.name === name)!;
const WORDS = config.noProgressWords;
const read = (text: string, name = '艾延坤') => readBodyReport(text, ledger, person(name), WORDS);

async function fixtureBody(file: string): Promise<string> {
  const m = await simpleParser(readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'eml', file)), { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true });
  return bodyText(m.text, typeof m.html === 'string' ? m.html : undefined);
}

describe('replies as mail clients write them', () => {
  it('Outlook: numbered paragraphs with blank lines between, the signature block and the quoted request left out', async () => {
    const r = read(await fixtureBody('outlook-body-report.eml'), '王群才');
    expect(r.rows).toEqual([
      { no: 4, progress: '已按重大行政决策程序规定，对《濮阳市科技创新奖励办法》开展合法性审查。', remark: '' },
      { no: 6, progress: '已召开局务会议集体讨论，形成会议纪要。', remark: '' },
      { no: 9, progress: '已在门户网站公开政务信息23条，\n\n其中政策解读5条。', remark: '' },
    ]);
    expect(r.foreign).toEqual([]);
    // The quoted request lists tasks 1, 2 and 4 by number: none of it is read.
    expect(r.ownText).not.toContain('完善政府立法程序');
    expect(r.ownText).not.toContain('0393');
  });

  it('Foxmail (GBK): "1、" and "第7项" markers, a continued line, someone else\'s task named, the address as signature', async () => {
    const r = read(await fixtureBody('foxmail-body-report.eml'));
    expect(r.rows).toEqual([
      { no: 1, progress: '已起草《濮阳市政府规章制定程序规定》修订稿；', remark: '' },
      { no: 2, progress: '已公开征求意见，收到意见12条。', remark: '' },
      { no: 7, progress: '已组织执法人员培训2期，\n参训86人次。', remark: '' },
    ]);
    expect(r.foreign).toEqual([9]);
    expect(r.ownText.startsWith('领导您好：')).toBe(true);
    expect(r.ownText).not.toContain('aiyankun@example.com');
  });

  it('163 webmail: a task named by its title, 此致 敬礼 and the name, then "在 …写道：" and ">" lines', async () => {
    const r = read(await fixtureBody('163-body-report.eml'), '马红霞');
    expect(r.rows).toEqual([
      { no: 13, progress: '已完成法治能力考查测试，参考率100%。', remark: '' },
      { no: 14, progress: '已制定测试办法，\n报局党组审定。', remark: '' },
    ]);
    expect(r.ownText).not.toMatch(/此致|马红霞|写道/);
  });

  it('iPhone: 本月无进展 alone, above 发自我的iPhone and the quote', async () => {
    const r = read(await fixtureBody('iphone-no-progress.eml'), '李世想');
    expect(r).toMatchObject({ ownText: '本月无进展。', rows: [], noProgress: true, question: false });
  });

  it('QQ Mail: a question naming a task is no report; the 原始邮件 block is left out', async () => {
    const r = read(await fixtureBody('qq-question.eml'), '马红霞');
    expect(r.rows).toEqual([]);
    expect(r.ownText).toBe('您好，请问第14项是否由我牵头？艾延坤同志那边也在报。');
    expect(looksLikeQuestion(r.ownText)).toBe(true);
  });
});

describe('an HTML-only mail', () => {
  it('is read as lines, the quoted blockquote left out', () => {
    const html = '<html><head><style>p{}</style></head><body><div>1. 已起草&amp;修改&#65292;&ldquo;定稿&rdquo;&#x3002;</div><div>2、已公开征求意见<br>共12条&bogus;</div>'
      + '<blockquote><div>3. 原通知</div></blockquote></body></html>';
    const r = read(bodyText(undefined, html));
    expect(r.rows).toEqual([{ no: 1, progress: '已起草&修改，“定稿”。', remark: '' }, { no: 2, progress: '已公开征求意见\n共12条&bogus;', remark: '' }]);
  });
});

describe('what a line names', () => {
  it('every marker form; the words kept exactly, trimmed of the marker only', () => {
    const r = read('1. 甲\n2、乙 \n第3项：丙\n序号5：丁\n7）戊\n第十二项 庚');
    expect(r.rows.map((x) => [x.no, x.progress])).toEqual([[1, '甲'], [2, '乙'], [3, '丙'], [5, '丁'], [7, '戊'], [12, '庚']]);
    const han = read('（一）甲\n(二) 乙\n十一、丙');
    expect(han.rows.map((x) => [x.no, x.progress])).toEqual([[1, '甲'], [2, '乙'], [11, '丙']]);
    expect(read('1，已完成。\n２．全角序号').rows.map((x) => [x.no, x.progress])).toEqual([[1, '已完成。'], [2, '全角序号']]);
  });

  it('（一） and 一、 are the writer\'s own headings and sub-points where tasks are named by Arabic numerals', () => {
    const r = read('一、本月工作进展\n1. 已完成以下工作：\n（一）起草规定\n（二）征求意见\n2、已提交审议');
    expect(r.rows).toEqual([
      { no: 1, progress: '已完成以下工作：\n（一）起草规定\n（二）征求意见', remark: '' },
      { no: 2, progress: '已提交审议', remark: '' },
    ]);
    expect(r.foreign).toEqual([]);
  });

  it('"来自…" as words is not a phone\'s signature', () => {
    expect(read('1. 来自省厅的督导组已检查完毕\n来自市局的意见已吸收').rows[0].progress).toBe('来自省厅的督导组已检查完毕\n来自市局的意见已吸收');
  });

  it('"1.5万元" is not task 1; a greeting before the first task is not progress', () => {
    const r = read('各位领导：\n本月情况如下\n1.5万元经费已拨付\n2. 已完成');
    expect(r.rows).toEqual([{ no: 2, progress: '已完成', remark: '' }]);
  });

  it('a task by its title, however wide its punctuation, and the words after it', () => {
    // The ledger writes "加强规范性文件监督管理,严格执行规范性文件制定程序" with a half-width comma.
    const r = read('加强规范性文件监督管理，严格执行规范性文件制定程序：已清理文件42件。');
    expect(r.rows).toEqual([{ no: 3, progress: '已清理文件42件。', remark: '' }]);
    // A title mid-sentence names nothing.
    expect(read('我们在完善政府立法程序方面做了很多工作').rows).toEqual([]);
  });

  it('a task named twice keeps both; numbers not in the ledger or not the person\'s are foreign', () => {
    const r = read('1. 上午起草\n第1项 下午修改\n99. 不存在的任务\n4. 王群才的任务');
    expect(r.rows).toEqual([{ no: 1, progress: '上午起草\n\n下午修改', remark: '' }]);
    expect(r.foreign).toEqual([4, 99]);
  });

  it('questions about tasks are not reports', () => {
    const r = read('第14项是否由我牵头？\n第1项能否延期？');
    expect(r).toMatchObject({ rows: [], foreign: [], question: true });
    // One question among reports does not make the reports questions.
    expect(read('1. 已完成\n第2项能否延期？').rows.map((x) => x.no)).toEqual([1, 2]);
  });
});

describe('what is not the sender\'s words', () => {
  it('quote headers of every client end the sender\'s words', () => {
    const heads = [
      '-----原始邮件-----', '------------------ 原始邮件 ------------------', '-----Original Message-----',
      '________________________________', 'From: 办公室 <6666209@163.com>', '发件人: 办公室', '发件人：办公室',
      '在 2020年6月20日 09:00，"办公室" <6666209@163.com> 写道：', 'On Sat, Jun 20, 2020 at 9:00 AM 办公室 <6666209@163.com> wrote:',
    ];
    for (const h of heads) expect(read(`1. 已完成\n${h}\n2. 引用里的第2项`).rows, h).toEqual([{ no: 1, progress: '已完成', remark: '' }]);
  });

  it('">" lines are skipped wherever they are (a reply written below the quote)', () => {
    expect(read('> 1. 原通知的任务\n> 2. 原通知的任务\n1. 已完成').rows).toEqual([{ no: 1, progress: '已完成', remark: '' }]);
  });

  it('signatures, closings and disclaimers end it', () => {
    const ends = [
      '-- ', '--', '发自我的iPhone', '发自网易邮箱大师', 'Sent from my iPhone', '来自QQ邮箱', '发自我的华为手机', '此致', '此致 敬礼', '敬礼！', '谢谢！', '请审阅。',
      '艾延坤', '政法科 艾延坤', '艾延坤 科长', '电话：0393-8991234', 'aiyankun@example.com',
      '免责声明：本邮件及其附件含有保密信息。', 'This email and any attachments are confidential.',
    ];
    for (const e of ends) expect(read(`1. 已完成\n${e}\n2. 不是进展`).rows, e).toEqual([{ no: 1, progress: '已完成', remark: '' }]);
    // A line that mentions the person within a sentence is progress, not a signature.
    expect(read('1. 由艾延坤牵头起草\n经局务会审议通过').rows[0].progress).toBe('由艾延坤牵头起草\n经局务会审议通过');
  });

  it('ownLines and isSignatureLine on their own', () => {
    expect(ownLines('您好\n\n> 引用\n已收到\n\n发自我的iPhone\n更多')).toEqual(['您好', '', '已收到']);
    expect(isSignatureLine('王群才', { name: '王群才', department: '办公室' })).toBe(true);
    expect(isSignatureLine('王群才已完成第4项', { name: '王群才', department: '办公室' })).toBe(false);
  });
});

describe('the words around the report', () => {
  it('no progress: the whole text one of the configured words', () => {
    expect(isNoProgress('本月无进展。', WORDS)).toBe(true);
    expect(isNoProgress(' 本期无进展！ ', WORDS)).toBe(true);
    expect(isNoProgress('本月无进展，下月完成', WORDS)).toBe(false);
    expect(isNoProgress('本月无进展', [])).toBe(false);
    expect(read('暂无进展\n\n发自我的iPhone').noProgress).toBe(true);
  });

  it('a forgotten attachment and a question are told apart', () => {
    expect(mentionsAttachment('已填好，请查收。')).toBe(true);
    expect(mentionsAttachment('见附件')).toBe(true);
    expect(mentionsAttachment('请问第14项是否由我牵头')).toBe(false);
    expect(looksLikeQuestion('这个任务什么时候截止?')).toBe(true);
    expect(looksLikeQuestion('收到，谢谢')).toBe(false);
  });

  it('Chinese numbers', () => {
    expect([chineseNumber('一'), chineseNumber('十'), chineseNumber('十二'), chineseNumber('二十'), chineseNumber('二十三'), chineseNumber('一百零五')]).toEqual([1, 10, 12, 20, 23, 105]);
    expect(chineseNumber('甲')).toBeNaN();
  });
});

describe('hostile bodies', () => {
  it('a 100,000-character line that looks like the start of a quote header, and 20,000 numbered lines over 2,000 tasks', () => {
    const long = `On 2020 ${'9'.repeat(99_990)}`;
    expect(read(long)).toMatchObject({ rows: [], foreign: [] });
    const big = { title: 't', tasks: Array.from({ length: 2000 }, (_, i) => ({ no: i + 1, task: `加强第${i + 1}项重点工作落实`, due: '', departments: [], owners: [i % 2 ? '甲' : '乙'] })) };
    const p = { id: '乙', name: '乙', department: '', email: 'b@x.cn' };
    const body = Array.from({ length: 20_000 }, (_, i) => (i % 2 ? `${(i % 2000) + 1}. 已完成` : `加强第${(i % 2000) + 1}项重点工作落实：已推进`)).join('\n');
    const r = readBodyReport(body, big, p, []);
    expect(r.rows).toHaveLength(1000);
    expect(r.foreign).toHaveLength(1000);
  });
});
