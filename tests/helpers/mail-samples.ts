/**
 * Every HTML mail kind with data that takes its branches, and words as people write them: long
 * lines, unbroken Latin strings and addresses, which are what push a mail wider than a phone.
 */
import { problemFor } from '../../src/core/reply.js';
import type { MailKind } from '../../src/mail/templates.js';

const sign = { officeName: '濮阳市科学技术局办公室', sentDate: '2020年6月26日', contactLine: '（联系人：张三，电话：0393-1234567）' };
const person = { name: '王群才', department: '办公室', email: 'wangquncai.office.longaddress@example.gov.cn' };
const longWords = '已起草《濮阳市重大行政决策程序实施办法》，征求意见32条，采纳28条；见 https://www.puyang.gov.cn/zwgk/fzzfjs/2020/06/notice-2020-0621-implementation.html 及附件ReportOfTheLegalAffairsOfficeVersion2020FinalDraft.docx。\n第二行：下月报市政府常务会议审议。';
const rows = [
  { no: 1, task: '完善政府立法程序，健全政府立法立项、起草、论证、协调、审议机制', progress: longWords, remark: '见附件' },
  { no: 12, task: '推进行政执法公示', progress: '已完成', remark: '' },
];
const notes = { format: 'Excel 97-2003 工作簿（.xls）', filename: '台账进展情况-2020年6月-王群才（修改稿）final-v2.xls', foreign: '第3、4项', renamed: '第1项' };
const receipt = {
  ...sign, personName: '艾延坤', periodLabel: '2020年6月', receivedAt: '2020年6月21日 9:00', rows, emptyRows: [{ no: 2, task: '提高公众参与度' }],
  sender: 'clerk.of.the.legal.affairs.office@example.gov.cn', echo: true, echoCut: true, notes, others: [],
};
const ledger = {
  ...sign, officeName: '办公室', signedBy: sign.officeName, periodLabel: '2020年6月', ledgerTitle: '落实《濮阳市人民政府2020年法治政府建设冲刺方案》工作台账',
  attachmentName: '2020年6月工作台账汇总（第2版）.xlsx', generatedAt: '2020年7月1日 9:00', version: 2, total: 44, reported: 40, onTime: 38, late: 2,
  missing: ['李世想', '马红霞'], bounced: ['someone.with.a.very.long.address@example.gov.cn'],
  departments: [{ name: '机关总支、政法科、办公室联合工作组', reported: 1, total: 2 }, { name: '政法科', reported: 3, total: 3 }],
  unchanged: [{ no: 3, task: '规范性文件合法性审查' }],
  changes: [
    { name: '艾延坤', what: '逾期报送', at: '2020年7月2日 9:00', sentBy: 'clerk.of.the.legal.affairs.office@example.gov.cn', tasks: '1、2、3、5、7、11、12、14', count: 2, extra: '，期间共收到2份，以最后一份为准' },
    { name: '李世想', what: '更正', at: '2020年7月3日 9:00', tasks: '', count: 1, extra: '' },
  ],
  changedRows: [{ no: 1, task: '完善政府立法程序', fields: '进展情况、备注' }],
};

export const MAIL_SAMPLES: [MailKind, string, object][] = [
  ['request', 'request', {
    ...sign, person, periodLabel: '2020年6月', deadline: '2020年6月30日', ledgerTitle: ledger.ledgerTitle, attachmentName: '台账进展情况-2020年6月-王群才.xlsx',
    tasks: [
      { no: 1, task: '完善政府立法程序，健全政府立法立项、起草、论证、协调、审议机制', due: '10.31', departments: '政法科、办公室', requirements: '2020年10月底前出台《濮阳市政府规章制定程序规定》。\n详见 https://www.puyang.gov.cn/zwgk/fzzfjs/2020/requirements-for-task-1.html' },
      { no: 14, task: '完善政府工作人员法治能力考查测试制度。', due: '10.31', departments: '机关总支、政法科', requirements: '按时完成' },
    ],
  }],
  ['reminder', 'reminder', { ...sign, person, periodLabel: '2020年6月', deadline: '2020年6月30日', attachmentName: '台账进展情况-2020年6月-王群才.xlsx', taskCount: 3 }],
  ['receipt', 'accepted, late, on behalf, moved, correction', { ...receipt, accepted: true, late: true, onBehalfOf: true, movedFrom: '2020年5月', movedByForm: true, movedClosed: true, correction: true, others: [{ personName: '马红霞', periodLabel: '2020年6月', rows, movedFrom: '2020年5月' }, { personName: '李世想', periodLabel: '2020年6月', held: true, rows }] }],
  ['receipt', 'accepted without echo, confirmed', { ...receipt, accepted: true, echo: false, confirmed: true, heldSender: 'a@x.cn', notOwnForm: true }],
  ['receipt', 'rejected', { ...receipt, accepted: false, ...problemFor('NO_ATTACHMENT') }],
  ['receipt', 'held', { ...receipt, accepted: false, held: true }],
  ['notice', 'recorded', { ...sign, personName: '艾延坤', periodLabel: '2020年6月', sender: `王群才（办公室，${person.email}）`, receivedAt: '2020年6月21日 9:00', rows, emptyRows: [{ no: 2, task: '提高公众参与度' }], echoCut: true }],
  ['notice', 'held', { ...sign, personName: '艾延坤', periodLabel: '2020年6月', sender: person.email, receivedAt: '2020年6月21日 9:00', rows, emptyRows: [], held: true }],
  ['ledger', 'final', ledger],
  ['ledger', 'preview', { ...ledger, preview: true }],
  ['ledger', 'update', { ...ledger, update: true }],
];
