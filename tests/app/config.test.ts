import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseYaml as parse } from '../../src/app/yaml.js';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig, type LoadOptions } from '../../src/app/config.js';
import { TaizhangError } from '../../src/errors.js';
import { configProblems } from '../helpers/config.js';

const example = () => parse(readFileSync('config/taizhang.example.yaml', 'utf8')) as any;
const env = { TAIZHANG_MAIL_PASSWORD: 'pw-123' };

const exampleText = () => readFileSync('config/taizhang.example.yaml', 'utf8');

/** loadConfig of `text` written to a fresh file. */
function load(text: string, e: NodeJS.ProcessEnv = env) {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'tz-config-')), 'c.yaml');
  writeFileSync(file, text);
  return loadConfig(file, e);
}

function loadError(text: string): string {
  try {
    load(text);
  } catch (err) {
    expect((err as TaizhangError).code).toBe('CONFIG_INVALID');
    return (err as Error).message;
  }
  throw new Error('config was accepted');
}

const problems = (doc: unknown, e: NodeJS.ProcessEnv = env, options?: LoadOptions) => configProblems(doc, e, options);

describe('config', () => {
  it('loads the shipped example: the seed\'s 17 tasks, four people, 163 preset, frozen', () => {
    const c = loadConfig('config/taizhang.example.yaml', env);
    expect(c.ledger.tasks).toHaveLength(17);
    expect(c.people.map((p) => p.name)).toEqual(['艾延坤', '王群才', '马红霞', '李世想']);
    expect(c.ledger.tasks.every((t) => t.requirements && t.requirements.length > 10)).toBe(true);
    expect(c.mailbox.imap).toMatchObject({ host: 'imap.163.com', port: 993, secure: true, password: 'pw-123' });
    expect(c.mailbox.smtp).toMatchObject({ host: 'smtp.163.com', port: 465, secure: true });
    expect(Object.isFrozen(c) && Object.isFrozen(c.mailbox.imap) && Object.isFrozen(c.ledger.tasks[0])).toBe(true);
  });

  it('office_phone and office_contact are optional text, kept as written', () => {
    const c = parseConfig({ ...example(), office_phone: '0393-1234567', office_contact: '张三' }, 'x.yaml', env);
    expect(c).toMatchObject({ officePhone: '0393-1234567', officeContact: '张三' });
    const none = parseConfig(example(), 'x.yaml', env);
    expect([none.officePhone, none.officeContact]).toEqual([undefined, undefined]);
    expect(problems({ ...example(), office_phone: ['x'] })).toEqual([expect.stringMatching(/^office_phone: /)]);
  });

  it('a missing environment variable is a config error naming it', () => {
    expect(problems(example(), {})).toContain('mailbox.imap.password: environment variable TAIZHANG_MAIL_PASSWORD is not set');
  });

  it('reports every problem at once, each with its path', () => {
    const doc = example();
    doc.people[2].email = 'not-an-email';
    doc.schedule.first_period = '2020-13';
    doc.schedule.reminder_days = [10, 28];
    doc.ledger.tasks[0].owners = ['无此人'];
    doc.timezone = 'Mars/Base';
    const list = problems(doc);
    expect(list).toEqual(expect.arrayContaining([
      'people[2].email: not an email address',
      'schedule.first_period: must be a month as YYYY-MM',
      expect.stringMatching(/^schedule\.reminder_days\[0\]: must be after send_day/),
      'ledger.tasks[0].owners[0]: "无此人" is not one of people[].name',
      'timezone: unknown time zone "Mars/Base"',
    ]));
  });

  it('gives every person an id, by default the name, and refuses one that repeats', () => {
    const doc = example();
    doc.people[0].id = ' ai-01 ';
    const c = parseConfig(doc, 'x.yaml', env);
    expect(c.people.map((p) => p.id)).toEqual(['ai-01', ...c.people.slice(1).map((p) => p.name)]);
    doc.people[2].id = 'ai-01'; // explicitly the same as another's
    doc.people[3].id = doc.people[1].name; // explicitly another's default
    expect(problems(doc).filter((p) => /\bid\b/.test(p))).toEqual([
      'people[2].id: id "ai-01" appears twice (an id defaults to the name)',
      `people[3].id: id "${doc.people[1].name}" appears twice (an id defaults to the name)`,
    ]);
    const blank = example();
    blank.people[1].id = '  ';
    expect(problems(blank)).toEqual(['people[1].id: must not be blank']);
  });

  it('names a person who owns no task', () => {
    const doc = example();
    doc.people.push({ name: '新来的', department: '办公室', email: 'xin@example.com' });
    expect(problems(doc).filter((p) => p.includes('owns no task'))).toEqual(['people: 新来的 owns no task']);
  });

  it('refuses plaintext mail connections except on loopback', () => {
    const doc = example();
    doc.mailbox.imap = { host: 'mail.example.com', port: 143, secure: false, password: 'x' };
    expect(problems(doc)).toContain('mailbox.imap.secure: plaintext is allowed only on loopback (127.0.0.1)');
  });

  it('splits departments and owners written as one string, as in the seed', () => {
    const doc = example();
    doc.ledger.tasks[7].owners = '王群才 马红霞';
    doc.ledger.tasks[7].departments = '办公室、机关总支';
    const c = parseConfig(doc, 'x.yaml', env);
    const t = c.ledger.tasks.find((x) => x.no === 8)!;
    expect(t.owners).toEqual(['王群才', '马红霞']);
    expect(t.departments).toEqual(['办公室', '机关总支']);
  });

  it('names each unknown key with the key it likely meant, beside the other problems', () => {
    const doc = example();
    doc.schedule.sendday = 3;
    doc.mailbox.smpt = {};
    doc.mailbox.imap.pasword = 'x';
    doc.ledger.tasks[0].owner = ['艾延坤'];
    doc.people[1].Email = 'x@example.com';
    doc.colour = 'red';
    doc.people[2].email = 'not-an-email';
    const list = problems(doc);
    expect(list).toEqual(expect.arrayContaining([
      'schedule.sendday: unknown key; did you mean send_day?',
      'mailbox.smpt: unknown key; did you mean smtp?',
      'mailbox.imap.pasword: unknown key; did you mean password?',
      'ledger.tasks[0].owner: unknown key; did you mean owners?',
      'people[1].Email: unknown key; did you mean email?',
      'people[2].email: not an email address',
    ]));
    expect(list.filter((p) => p.startsWith('colour:'))).toEqual([
      'colour: unknown key (expected one of: timezone, data_dir, mailbox, schedule, office, office_phone, office_contact, no_progress_words, text_replies, people, ledger, ledgers, secret, templates_dir, web, notify)',
    ]);
  });

  it('keeps text as written in the file (due: 10.30 is "10.30"), numbers and switches as values', () => {
    const text = exampleText()
      .replace('due: "10.31"', 'due: 10.30')
      .replace('task: 完善政府立法程序', 'task: 2020')
      .replace('department: 政法科', 'department: 1.10')
      .replace(/sender_name: .*/, 'sender_name: 0x1F')
      .replace('ledger:\n', 'ledger:\n  office_name: ~\n');
    const c = load(text);
    const first = c.ledger.tasks.find((t) => t.no === 1)!;
    expect(first).toMatchObject({ due: '10.30', task: '2020' });
    expect(c.people[0].department).toBe('1.10');
    expect(c.mailbox.senderName).toBe('0x1F');
    expect(c.mailbox.imap).toMatchObject({ port: 993, secure: true });
    expect(c.schedule).toMatchObject({ sendDay: 20, deadlineDay: 30, reminderDays: [25, 28], lastPeriod: '2020-10' });
    expect(c.mailbox.saveSent).toBe(false);
    expect(load(text.replace('send_day: 20', 'send_day: "21"')).schedule.sendDay).toBe(21);
    expect(loadError(text.replace('send_day: 20', 'send_day: 20.5'))).toContain('schedule.send_day: must be a whole number from 1 to 31');
    expect(loadError(text.replace('secure: true', 'secure: yes'))).toContain('mailbox.imap.secure: must be true or false');
  });

  it('a YAML syntax error tells line and column, never the value of a password or secret', () => {
    const cases: [string, RegExp][] = [
      ['secret: hunter2-key\n  bad: indentation\n', /bad indentation of a mapping entry at line 2, column 6$/],
      ['mailbox:\n  imap:\n    password: *hunter2\n', /unidentified alias "\*\*\*" at line 3, column 23$/],
      ['mailbox:\n  smtp: { user: a, password: !hunter2 x }\n', /unknown tag !<\*\*\*> at line 2, column \d+$/],
    ];
    for (const [text, told] of cases) {
      const message = loadError(text);
      expect(message).toMatch(told);
      expect(message).not.toContain('hunter2');
    }
    // What stands on no password's line is still quoted: it helps to find the mistake.
    expect(loadError('ledger:\n  title: *notitle\n')).toMatch(/unidentified alias "notitle" at line 2/);
  });

  it('without mail (status), the mailbox passwords may be missing; everything else is still checked', () => {
    const c = parseConfig(example(), 'x.yaml', {}, { mail: false });
    expect(c.mailbox.imap.password).toBe('');
    expect(c.mailbox.smtp.password).toBe('');
    const doc = example();
    doc.people[2].email = 'nope';
    doc.secret = '${TAIZHANG_SECRET}';
    expect(problems(doc, {}, { mail: false })).toEqual([
      'secret: environment variable TAIZHANG_SECRET is not set',
      'people[2].email: not an email address',
    ]);
  });
});
