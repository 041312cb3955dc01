/**
 * Reading the office's own ledger: the seed's table as Word and Excel hold it (made from the seed
 * notice by tests/fixtures/import/make-fixtures.mjs) and as LibreOffice saves it again gives
 * exactly the example config's tasks; the 附件 in the same document gives their 任务要求.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseYaml } from '../../src/app/yaml.js';
import { fillRequirements, importTasks, planSections } from '../../src/core/import.js';
import { docxParagraphs, readLedgerFile } from '../../src/sheet/import-table.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'tests', 'fixtures', 'import');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name));
const example = parseYaml(readFileSync(path.join(ROOT, 'config', 'taizhang.example.yaml'), 'utf8')) as any;
const known = new Set<string>(example.people.map((p: { name: string }) => p.name));
const TITLE = '落实《濮阳市人民政府2020年法治政府建设冲刺方案》工作台账';

describe('the seed\'s table', () => {
  for (const name of ['seed-ledger.docx', 'lo-seed-ledger.docx', 'seed-ledger.xlsx', 'lo-seed-ledger.xlsx']) {
    it(`${name}: the example config's 17 tasks, the title, the 说明`, async () => {
      const table = await readLedgerFile(fixture(name), name);
      expect(table.title).toBe(TITLE);
      expect(table.skipped).toEqual([]);
      expect(table.notes[0]).toMatch(/^说明:1\.各责任单位每月30日前填报进展情况/);
      expect(table.notes).toHaveLength(3);
      const { tasks, problems } = importTasks(table.tasks, known);
      expect(problems).toEqual([]);
      const want = example.ledger.tasks.map(({ requirements: _r, ...t }: Record<string, unknown>) => t);
      expect(tasks).toEqual(want);
    });
  }

  it('the 附件 of the same document gives every task the example config\'s 任务要求', async () => {
    const table = await readLedgerFile(fixture('seed-ledger.docx'), 'seed-ledger.docx');
    const sections = planSections(docxParagraphs(fixture('seed-ledger.docx')));
    expect(sections).toHaveLength(25);
    const filled = fillRequirements(importTasks(table.tasks, known).tasks, sections);
    expect(filled.missing).toEqual([]);
    expect(filled.tasks).toEqual(example.ledger.tasks);
    expect(filled.matched.get(1)).toMatchObject({ label: '六', title: '完善政府立法程序。' });
  });
});

describe('what the seed does not show', () => {
  it('variants.xlsx: padded names, 2020年10月31日, 长期, a date cell, 责任单位/完成时限 headers, a 备注, 注 under the table', async () => {
    const table = await readLedgerFile(fixture('variants.xlsx'), 'variants.xlsx');
    expect(table.title).toBe('2021年重点工作台账');
    expect(table.notes).toEqual(['注：本表由办公室汇总。']);
    const { tasks } = importTasks(table.tasks, new Set(['王群', '王群才', '马红霞', '李世想']));
    expect(tasks).toEqual([
      { no: 1, task: '建立重点工作月报制度', due: '2020年10月31日', departments: ['办公室'], owners: ['王群'] },
      { no: 2, task: '开展法治宣传', due: '长期', departments: ['政法科', '办公室'], owners: ['王群', '王群才'], note: '每季度报送一次' },
      { no: 3, task: '完善制度汇编', due: '2020年12月31日', departments: ['发财科'], owners: ['李世想', '赵六'] },
      { no: 4, task: '年度考核', due: '2020年12月31日', departments: ['机关总支'], owners: ['马红霞', '王群'] },
    ]);
  });

  it('a Word 97 .doc or a text file is refused with what to do', async () => {
    await expect(readLedgerFile(readFileSync(path.join(ROOT, 'tests', 'fixtures', 'formats', 'lo-wang.doc')), 'x.doc'))
      .rejects.toMatchObject({ code: 'SHEET_UNSUPPORTED', message: expect.stringMatching(/save it as \.docx/) });
    await expect(readLedgerFile(Buffer.from('序号,主要任务\n1,x\n'), 'x.csv')).rejects.toMatchObject({ code: 'SHEET_UNSUPPORTED' });
  });
});
