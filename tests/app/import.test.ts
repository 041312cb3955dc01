/**
 * `taizhang import` through the real command line: the seed's table into a copy of the commented
 * example config (every comment kept, what changed told by 序号, `taizhang check` passing against
 * the real mail servers), `--print` writing nothing, people without an address left for the
 * clerk, `--ledger` on single and several ledgers, and files it cannot read.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseYaml } from '../../src/app/yaml.js';
import { isolate } from '../helpers/fleet.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject, ROOT, type Project } from '../helpers/project.js';

const mail = useMailStack();
const FIXTURES = path.join(ROOT, 'tests', 'fixtures', 'import');
const fixture = (name: string) => path.join(FIXTURES, name);
const EXAMPLE_TEXT = readFileSync(path.join(ROOT, 'config', 'taizhang.example.yaml'), 'utf8');
const example = parseYaml(EXAMPLE_TEXT) as any;
const comments = (text: string) => text.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('#'));

/**
 * The commented example config pointed at the test's mail servers (comments kept), with a
 * ledger a version behind: tasks 16 and 17 missing, task 4 due another day.
 */
function commentedConfig(p: Project, edit?: (doc: YAML.Document) => void): string {
  const doc = YAML.parseDocument(EXAMPLE_TEXT);
  for (const key of ['mailbox', 'data_dir', 'office', 'people'] as const) doc.set(key, doc.createNode(p.config[key]));
  const tasks = doc.getIn(['ledger', 'tasks']) as YAML.YAMLSeq;
  tasks.items.splice(15, 2);
  doc.setIn(['ledger', 'tasks', 3, 'due'], '9.30');
  edit?.(doc);
  const text = doc.toString();
  writeFileSync(p.configFile, text);
  return text;
}

describe('taizhang import', () => {
  it('writes the seed\'s table into a commented config: comments kept, changes told by 序号, check passes', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => isolate(d));
    const before = commentedConfig(p);
    const r = await p.cli('import', fixture('seed-ledger.docx'), '--requirements', fixture('seed-ledger.docx'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Read 17 tasks from seed-ledger.docx (Word document (.docx)): 落实《濮阳市人民政府2020年法治政府建设冲刺方案》工作台账');
    expect(r.stdout).toContain('任务要求 taken from seed-ledger.docx for 17 task(s)');
    expect(r.stdout).toMatch(/tasks added: 16, 17\n\s+tasks changed: 4 \(due\)\n\s+tasks removed: none\n\s+tasks unchanged: 14/);
    expect(r.stdout).not.toMatch(/not in people/);
    const after = readFileSync(p.configFile, 'utf8');
    // Everything before the ledger is byte for byte what it was; no comment is lost.
    expect(after.slice(0, after.indexOf('\nledger:'))).toBe(before.slice(0, before.indexOf('\nledger:')));
    for (const c of comments(before)) expect(after).toContain(c);
    expect(after).toContain('# 附件 (二十五) 加强法治政府建设保障机制。');
    expect((parseYaml(after) as any).ledger).toEqual(example.ledger);
    expect(readFileSync(`${p.configFile}.bak`, 'utf8')).toBe(before);

    const check = await p.cli('check');
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/✔ 配置有效 config OK \(4 people, 17 tasks\)/);

    // The same file again changes nothing.
    const again = await p.cli('import', fixture('lo-seed-ledger.xlsx'), '--requirements', fixture('seed-ledger.docx'));
    expect(again.stdout).toMatch(/tasks added: none\n\s+tasks changed: none\n\s+tasks removed: none\n\s+tasks unchanged: 17/);
    expect(readFileSync(p.configFile, 'utf8')).toBe(after);
  });

  it('--print shows the ledger as YAML with what it would change, and writes nothing', async () => {
    const p = makeProject(mail(), (d) => isolate(d));
    const before = commentedConfig(p);
    const r = await p.cli('import', fixture('seed-ledger.xlsx'), '--requirements', fixture('seed-ledger.docx'), '--print');
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(p.configFile, 'utf8')).toBe(before);
    expect(r.stdout).toMatch(/^# Read 17 tasks from seed-ledger\.xlsx \(Excel workbook \(\.xlsx\)\)/);
    expect(r.stdout).toMatch(/# {3}tasks added: 16, 17\n/);
    expect(r.stdout).toContain('# --print: nothing was written.');
    // Exactly the example config's ledger, as the config loader reads it, and as it is written there.
    expect((parseYaml(r.stdout) as any).ledger).toEqual(example.ledger);
    expect(r.stdout.slice(r.stdout.indexOf('\nledger:') + 1)).toBe(EXAMPLE_TEXT.slice(EXAMPLE_TEXT.indexOf('\nledger:') + 1).trimEnd() + '\n');
  });

  it('people without an address are listed and written commented out: check names them until the clerk fills them in', async () => {
    const stack = mail();
    const p = makeProject(stack, (d) => isolate(d));
    commentedConfig(p);
    const r = await p.cli('import', fixture('variants.xlsx'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/not in people.*\n\s+王群: 序号 1, 2, 4\n\s+赵六: 序号 3\n/);
    expect(r.stdout).toContain('In people but owning no task now (remove them, or give them a task): 艾延坤');
    expect(r.stdout).toMatch(/tasks changed: 1 \(task, due, departments, owners, requirements\);/);
    expect(r.stdout).toContain('tasks removed: 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15');
    let text = readFileSync(p.configFile, 'utf8');
    expect(text).toContain('  # - { name: 王群, department: "", email: "" }  # 序号 1, 2, 4');
    // Imported twice: each still listed once.
    await p.cli('import', fixture('variants.xlsx'));
    text = readFileSync(p.configFile, 'utf8');
    expect(text.split('# - { name: 王群,').length).toBe(2);

    const check = await p.cli('check');
    expect(check.code).toBe(2);
    expect(check.stderr).toContain('"王群" is not one of people[].name');
    expect(check.stderr).toContain('"赵六" is not one of people[].name');

    // The clerk fills in the addresses and uncomments them, and removes 艾延坤: all well.
    text = text.replace('# - { name: 王群, department: "", email: "" }', '- { name: 王群, department: 办公室, email: wangqun@example.com }')
      .replace('# - { name: 赵六, department: "", email: "" }', '- { name: 赵六, department: 发财科, email: zhaoliu@example.com }')
      .replace(/\n {2}- name: 艾延坤\n.*\n.*/, '');
    writeFileSync(p.configFile, text);
    const ok = await p.cli('check');
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/config OK \(5 people, 4 tasks\)/);
  });

  it('--ledger: a new id moves the single ledger under ledgers: as main; an entry is then chosen by its id', async () => {
    const p = makeProject(mail(), (d) => isolate(d));
    const before = commentedConfig(p);
    const r = await p.cli('import', fixture('variants.xlsx'), '--ledger', 'zhongdian');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('New ledger zhongdian (ledgers:; the single ledger: moves under ledgers: as id main, its reports keep that id)');
    let text = readFileSync(p.configFile, 'utf8');
    for (const c of comments(before)) expect(text).toContain(c);
    let doc = parseYaml(text) as any;
    expect(doc.ledger).toBeUndefined();
    expect(doc.ledgers.map((l: any) => [l.id, l.title, l.tasks.length])).toEqual([
      ['main', example.ledger.title, 15], ['zhongdian', '2021年重点工作台账', 4],
    ]);

    const none = await p.cli('import', fixture('seed-ledger.docx'));
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('the config has 2 ledgers (main, zhongdian): say which with --ledger ID');

    const main = await p.cli('import', fixture('seed-ledger.docx'), '--ledger', 'main', '--requirements', fixture('seed-ledger.docx'));
    expect(main.code, main.stderr).toBe(0);
    expect(main.stdout).toMatch(/Ledger main \(ledgers:\) in .*:\n\s+tasks added: 16, 17\n\s+tasks changed: 4 \(due\)/);
    text = readFileSync(p.configFile, 'utf8');
    doc = parseYaml(text) as any;
    expect(doc.ledgers[0]).toEqual({ id: 'main', ...example.ledger });
    expect(doc.ledgers[1].tasks).toHaveLength(4);
  });

  it('files it cannot read, and wrong usage, are told in one line with what to do', async () => {
    const p = makeProject(mail(), (d) => isolate(d));
    const doc = await p.cli('import', path.join(ROOT, 'tests', 'fixtures', 'formats', 'lo-wang.doc'));
    expect(doc.code).toBe(1);
    expect(doc.stderr).toMatch(/Word 97-2003 document \(\.doc\): open it in Word or WPS and save it as \.docx/);
    expect((await p.cli('import')).stderr).toMatch(/import needs the ledger file/);
    expect((await p.cli('import', fixture('nothing.docx'))).code).toBe(2);
    expect((await p.cli('import', fixture('seed-ledger.docx'), '--ledger', '法治')).stderr).toMatch(/--ledger must be letters, digits/);
    expect((await p.cli('status', 'extra')).stderr).toMatch(/unexpected argument extra/);
  });
});
