/** Turning a ledger table's cells into tasks, the 方案's 任务要求, and the changes told. */
import { describe, expect, it } from 'vitest';
import {
  diffTasks, fillRequirements, importTasks, joinLines, keepRequirements, newPeople, normalizeDue, planSections, splitDepartments, splitNames,
  type RawTask,
} from '../../src/core/import.js';
import type { Task } from '../../src/core/ledger.js';

const known = new Set(['王群', '王群才', '马红霞', '李世想']);
const raw = (o: Partial<RawTask>): RawTask => ({ no: 1, task: 't', due: '10.31', departments: '', owners: '', remark: '', requirements: '', at: 'row 1', ...o });
const task = (o: Partial<Task>): Task => ({ no: 1, task: 't', due: '10.31', departments: [], owners: [], ...o });

describe('names and departments in one cell', () => {
  it('splits on spaces, 、, commas and semicolons, and removes the padding of two-character names', () => {
    expect(splitNames('王群才 马红霞', known)).toEqual(['王群才', '马红霞']);
    expect(splitNames('王群才、马红霞', known)).toEqual(['王群才', '马红霞']);
    expect(splitNames('王群才,马红霞，李世想；王群', known)).toEqual(['王群才', '马红霞', '李世想', '王群']);
    expect(splitNames('王　群', known)).toEqual(['王群']);
    expect(splitNames('王　群 马红霞', known)).toEqual(['王群', '马红霞']);
    expect(splitNames('马红霞\n王　群', known)).toEqual(['马红霞', '王群']);
    // Unknown names are taken as written, the padding of a two-character one removed all the same.
    expect(splitNames('赵　六 钱七七', known)).toEqual(['赵六', '钱七七']);
    expect(splitNames('王群才 王群才', known)).toEqual(['王群才']);
  });

  it('departments split on 、 and the like', () => {
    expect(splitDepartments('办公室、机关总支')).toEqual(['办公室', '机关总支']);
    expect(splitDepartments('政法科；办公室, 发财科')).toEqual(['政法科', '办公室', '发财科']);
  });

  it('lines of a cell join without a space between Chinese text, with one between words', () => {
    expect(joinLines('加强规范性文件监督管理,\n严格执行规范性文件制定程序')).toBe('加强规范性文件监督管理,严格执行规范性文件制定程序');
    expect(joinLines('  完善制度\r\n 汇编 ')).toBe('完善制度汇编');
    expect(joinLines('ISO\n9001 认证')).toBe('ISO 9001 认证');
  });

  it('完成时间 stays as written, without the breaks of a narrow cell', () => {
    expect(normalizeDue('10.31')).toBe('10.31');
    expect(normalizeDue('2020年\n10月31日')).toBe('2020年10月31日');
    expect(normalizeDue(' 长期 ')).toBe('长期');
  });
});

describe('importTasks', () => {
  it('orders by 序号, keeps 任务要求 and 备注 as lines, and tells rows it cannot take', () => {
    const { tasks, problems } = importTasks([
      raw({ no: 2, task: '乙', owners: '王　群', departments: '办公室', remark: ' 每季度 \n一次 ' }),
      raw({ no: 1, task: '甲', owners: '', requirements: '1.甲\n\n2.乙' }),
      raw({ no: 3, task: ' ', owners: '马红霞', at: '表格1 row 4' }),
    ], known);
    expect(tasks).toEqual([
      { no: 1, task: '甲', due: '10.31', departments: [], owners: [], requirements: '1.甲\n2.乙' },
      { no: 2, task: '乙', due: '10.31', departments: ['办公室'], owners: ['王群'], note: '每季度\n一次' },
    ]);
    expect(problems).toEqual(['序号 1 (row 1) names no 责任人: add one in the config', '序号 3 (表格1 row 4) has no 主要任务: not imported']);
  });
});

describe('任务要求 from the 方案', () => {
  it('reads items whose 任务要求 is in the title\'s paragraph or the next ones, up to 责任单位', () => {
    const sections = planSections([
      '三、工作任务',
      '(六)完善政府立法程序。任务要求:1.坚持立、改、废、释并举。2.落实五项制度。',
      '责任单位:市司法局、各有关部门。',
      '完成时限:2020年10月31日',
      '（七）提高政府立法公众参与度。',
      '任务要求：',
      '1.建立制度。',
      '2.推行听证。',
      '责任单位:市司法局',
      '四、工作步骤',
      '(一)安排部署阶段(6月5日—6月15日)。6月上旬,印发方案。',
    ]);
    expect(sections).toEqual([
      { label: '六', title: '完善政府立法程序。', requirements: '1.坚持立、改、废、释并举。2.落实五项制度。' },
      { label: '七', title: '提高政府立法公众参与度。', requirements: '1.建立制度。\n2.推行听证。' },
    ]);
  });

  it('matches by title (full-width forms and the final 。 aside), never by a near title', () => {
    const sections = [
      { label: '六', title: '完善政府立法程序。', requirements: 'A' },
      { label: '二十三', title: '加强理论研究,完善法治政府建设研究宣传机制。', requirements: 'B' },
      { label: '二十四', title: '加强宣传引导，完善法治政府建设研究宣传机制。', requirements: 'C' },
      { label: '一', title: '重复', requirements: 'D1' },
      { label: '二', title: '重复。', requirements: 'D2' },
    ];
    const f = fillRequirements([
      task({ no: 1, task: '完善政府立法程序' }),
      task({ no: 16, task: '加强宣传引导,完善法治政府建设研究宣传机制。' }),
      task({ no: 5, task: '完善政府立法' }),
      task({ no: 7, task: '重复', requirements: '原有' }),
    ], sections);
    expect(f.tasks.map((t) => t.requirements)).toEqual(['A', 'C', undefined, '原有']);
    expect([...f.matched.keys()]).toEqual([1, 16]);
    expect(f.missing).toEqual([5]);
    expect(f.ambiguous).toEqual([7]);
  });
});

describe('against the config', () => {
  it('tells tasks added, changed (which fields) and removed by 序号', () => {
    const old = [task({ no: 1, owners: ['王群才'] }), task({ no: 2 }), task({ no: 3, task: 'x' })];
    const next = [task({ no: 1, owners: ['王群才', '马红霞'], due: '长期' }), task({ no: 2 }), task({ no: 4 })];
    expect(diffTasks(old, next)).toEqual({ added: [4], removed: [3], changed: [{ no: 1, fields: ['due', 'owners'] }], unchanged: 1 });
  });

  it('keeps the config\'s 任务要求 of a task with the same title when the table has none', () => {
    const next = [task({ no: 1, task: '甲。' }), task({ no: 2, task: '乙', requirements: '新' })];
    expect(keepRequirements(next, [task({ no: 9, task: '甲', requirements: '旧', note: '注' }), task({ no: 2, task: '乙', requirements: '旧' })])).toEqual([1]);
    expect(next.map((t) => [t.requirements, t.note])).toEqual([['旧', '注'], ['新', undefined]]);
  });

  it('lists owners not in people, with the department the table pairs them with, or none when it is not clear', () => {
    const tasks = [
      task({ no: 8, departments: ['办公室', '机关总支'], owners: ['王群才', '赵六'] }),
      task({ no: 9, departments: ['机关总支'], owners: ['赵六'] }),
      task({ no: 10, departments: ['办公室'], owners: ['钱七', '王群才'] }),
      task({ no: 11, departments: ['政法科'], owners: ['孙八'] }),
      task({ no: 12, departments: ['办公室'], owners: ['孙八'] }),
    ];
    expect(newPeople(tasks, known)).toEqual([
      { name: '赵六', department: '机关总支', tasks: [8, 9] },
      { name: '钱七', department: '', tasks: [10] },
      { name: '孙八', department: '', tasks: [11, 12] },
    ]);
  });
});
