import { readFileSync } from 'node:fs';
import { parseYaml as parse } from '../../src/app/yaml.js';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/app/config.js';
import { TaizhangError } from '../../src/errors.js';

const example = () => parse(readFileSync('config/taizhang.example.yaml', 'utf8')) as any;
const env = { TAIZHANG_MAIL_PASSWORD: 'pw-123' };

function problems(doc: unknown, e: NodeJS.ProcessEnv = env): string[] {
  try {
    parseConfig(doc, 'x.yaml', e);
  } catch (err) {
    expect(err).toBeInstanceOf(TaizhangError);
    expect((err as TaizhangError).code).toBe('CONFIG_INVALID');
    return (err as TaizhangError).details as string[];
  }
  throw new Error('config was accepted');
}

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
});
