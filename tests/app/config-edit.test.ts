/** Writing an imported ledger into config text: only the ledger changes, whatever shape it had. */
import { describe, expect, it } from 'vitest';
import { writeLedger, type LedgerWrite } from '../../src/app/config-edit.js';
import { parseYaml } from '../../src/app/yaml.js';
import type { Task } from '../../src/core/ledger.js';

const tasks: Task[] = [
  { no: 1, task: '甲: 含冒号', due: '10.30', departments: ['办公室'], owners: ['王群'], requirements: '  1.首行缩进\n2.第二行' },
  { no: 2, task: '- 乙', due: '长期', departments: [], owners: ['赵六'] },
];
const write = (o: Partial<LedgerWrite> = {}): LedgerWrite => ({ target: { kind: 'single' }, title: '新台账', tasks, comments: new Map([[1, '附件 (一) 甲']]), newPeople: [], ...o });
const read = (text: string) => parseYaml(text) as any;

describe('writeLedger', () => {
  it('a fresh config without a ledger gets one at the end; the text before stays', () => {
    const text = 'timezone: Asia/Shanghai   # aligned comment\npeople:\n  - { name: 王群, email: a@b.c }\n';
    const out = writeLedger(text, write());
    expect(out.startsWith(text)).toBe(true);
    expect(read(out).ledger).toEqual({ title: '新台账', tasks });
    expect(out).toContain('    # 附件 (一) 甲\n    - no: 1\n');
  });

  it('tasks: [] and no title, inside a ledger with its own comments and office_name', () => {
    const text = '# head\nledger:   # the ledger\n  office_name: 办公室  # who signs\n  tasks: []\n# tail\nsecret: x\n';
    const out = writeLedger(text, write());
    expect(read(out)).toEqual({ ledger: { title: '新台账', office_name: '办公室', tasks }, secret: 'x' });
    for (const c of ['# head', 'ledger:   # the ledger', '  office_name: 办公室  # who signs', '# tail']) expect(out).toContain(c);
  });

  it('people without an address go under the entry\'s own people, indented like them', () => {
    const text = 'people:\n  - { name: 甲, email: a@b.c }\nledgers:\n  - id: a\n    title: A\n    people:\n      - { name: 乙, email: b@b.c }\n    tasks: []\n';
    const out = writeLedger(text, write({ target: { kind: 'entry', id: 'a', index: 0 }, newPeople: [{ name: '赵六', department: '', tasks: [2] }] }));
    expect(out).toContain('      - { name: 乙, email: b@b.c }\n      # 以下责任人');
    expect(out).toContain('      # - { name: 赵六, department: "", email: "" }  # 序号 2\n    tasks:');
    expect(read(out).ledgers[0]).toEqual({ id: 'a', title: '新台账', people: [{ name: '乙', email: 'b@b.c' }], tasks });
  });

  it('a one-line ledger mapping is refused, not rewritten', () => {
    expect(() => writeLedger('ledger: { title: x, tasks: [] }\n', write())).toThrow(/one-line/);
  });
});
