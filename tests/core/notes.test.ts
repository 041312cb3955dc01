/**
 * What a receipt tells about the file read (core/notes.ts), and that deciding hands it on:
 * the format, rows for tasks that are not the person's, rows whose 主要任务 text was changed.
 */
import { describe, expect, it } from 'vitest';
import { decide, type DecideLookups, type IncomingMail, type ReadFile } from '../../src/core/decide.js';
import type { Ledger, Person } from '../../src/core/ledger.js';
import { fileNotes, formatName, serialList } from '../../src/core/notes.js';
import { problemFor } from '../../src/core/reply.js';

const ai: Person = { id: '艾延坤', name: '艾延坤', department: '政法科', email: 'ai@x.cn' };
const ma: Person = { id: '马红霞', name: '马红霞', department: '机关总支', email: 'ma@x.cn' };
const task = (no: number, owner: string, text = `任务${no}`) => ({ no, task: text, due: '10.31', departments: [], owners: [owner] });
const ledger: Ledger = { title: '重点工作台账', tasks: [task(1, ai.name, '完善政府立法程序，提高质量'), task(2, ai.name), task(3, ma.name), task(4, ma.name)] };
const row = (no: number, progress: string, remark = '') => ({ no, progress, remark });

describe('fileNotes', () => {
  it('names the format, the rows with words for others\' tasks, and changed task texts', () => {
    const n = fileNotes(ledger, ai, {
      filename: '台账.xls', format: 'xls',
      rows: [row(1, '已完成'), row(2, ''), row(4, '', '只写了备注'), row(3, '他人任务'), row(9, '台账里没有的序号'), row(5, '  ')],
      taskTexts: [{ no: 1, text: '完善政府立法程序,提高质量' }, { no: 2, text: '任务二（改）' }, { no: 3, text: '随便改' }],
    });
    expect(n).toEqual({ filename: '台账.xls', format: 'Excel 97-2003 工作簿（.xls）', foreign: [3, 4, 9], renamed: [2] });
  });

  it('says nothing it does not know', () => {
    expect(fileNotes(ledger, ai, { rows: [row(1, 'x')] })).toEqual({ filename: null, format: null, foreign: [], renamed: [] });
    expect(fileNotes(ledger, ai, { rows: [row(1, 'x')], taskTexts: [{ no: 1, text: '  ' }] }).renamed).toEqual([]);
  });

  it('names formats and lists 序号 as a receipt says them', () => {
    expect(formatName('docx')).toBe('Word 文档（.docx）');
    expect(formatName('et')).toBe('WPS 表格（.et）');
    expect(formatName('nonsense')).toBe('无法识别的文件');
    expect(serialList([3, 4, 9])).toBe('第3、4、9项');
    expect(serialList([])).toBe('');
  });

  it('a .doc is answered with how to make it readable', () => {
    expect(problemFor('SHEET_UNSUPPORTED', 'doc')).toEqual({ problem: expect.stringContaining('Word 97-2003'), fix: expect.stringContaining('.docx') });
  });
});

describe('decide hands the notes on', () => {
  const config = { ledger, people: [ai, ma] };
  const lookups: DecideLookups = { isDuplicate: () => false, sentMail: () => undefined, openPeriod: () => '2020-06', hasCurrentReport: () => false, heldReport: () => undefined, closed: () => false };
  const mail = (file: ReadFile): IncomingMail => ({ from: ai.email, references: [], class: { kind: 'human' }, attachmentCount: 1, files: [file] });

  it('with a recorded report', () => {
    const d = decide(mail({ ok: true, token: null, filename: '进展.docx', format: 'docx', rows: [row(1, '已完成'), row(3, '误填')], taskTexts: [{ no: 1, text: '改过的任务' }] }), config, lookups);
    expect(d.outcome).toBe('accepted');
    expect(d.report?.rows).toEqual([row(1, '已完成')]); // the other's row is not recorded
    expect(d.notes).toEqual({ filename: '进展.docx', format: 'Word 文档（.docx）', foreign: [3], renamed: [1] });
  });

  it('with a form that holds only other people\'s rows', () => {
    const d = decide(mail({ ok: true, token: null, format: 'xls', rows: [row(3, '误填'), row(4, '误填')] }), config, lookups);
    expect(d.outcome).toBe('rejected');
    expect(d.problem?.problem).toContain('均未填写');
    expect(d.notes?.foreign).toEqual([3, 4]);
  });
});
