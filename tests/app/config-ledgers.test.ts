/** `ledgers:` in the config: what each ledger inherits, what it sets, and every problem told with its path. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/app/config.js';
import { addLedgers, configProblems, exampleConfig } from '../helpers/config.js';

const env = { TAIZHANG_MAIL_PASSWORD: 'pw' };
const example = exampleConfig;

/** The example with its ledger as `main` and a second one, `safety`, inheriting everything. */
function twoLedgers() {
  const doc = example();
  addLedgers(doc, { id: 'safety', title: '安全生产工作台账', tasks: [{ no: 1, task: '安全检查', owners: ['艾延坤'] }, { no: 2, task: '消防演练', owners: '马红霞' }] });
  return doc;
}

const problems = (doc: unknown) => configProblems(doc, env);

describe('config: several ledgers', () => {
  it('the single ledger: is one ledger with id main, with the top level\'s people, office and schedule', () => {
    const c = parseConfig(example(), 'x.yaml', env);
    expect(c.ledgers).toHaveLength(1);
    const [main] = c.ledgers;
    expect(main).toMatchObject({ id: 'main', title: c.ledger.title, people: c.people, office: c.office });
    expect(main.ledger).toBe(c.ledger);
    expect(main.schedule).toEqual(c.schedule);
    expect(c.ledger.id).toBe('main');
    expect(Object.isFrozen(main) && Object.isFrozen(main.people)).toBe(true);
  });

  it('each ledger inherits the top level\'s people (those with a task in it), office and schedule unless it sets its own', () => {
    const doc = twoLedgers();
    doc.ledgers[1].office = [{ name: '安全科', email: 'safety@x.cn' }];
    doc.ledgers[1].office_name = '安全生产委员会办公室';
    doc.ledgers[1].schedule = { first_period: '2020-07', send_day: 1, deadline_day: 10, reminder_days: [5] };
    const c = parseConfig(doc, 'x.yaml', env);
    const [main, safety] = c.ledgers;
    expect(main.people.map((p) => p.name)).toEqual(['艾延坤', '王群才', '马红霞', '李世想']);
    expect(safety.people.map((p) => p.name)).toEqual(['艾延坤', '马红霞']);
    expect(main.office).toEqual(c.office);
    expect(safety.office).toEqual([{ name: '安全科', email: 'safety@x.cn' }]);
    expect(main.schedule).toMatchObject({ firstPeriod: '2020-06', sendDay: 20 });
    // Its own schedule replaces the top level's as a whole: defaults, not the top level's values.
    expect(safety.schedule).toMatchObject({ firstPeriod: '2020-07', lastPeriod: undefined, sendDay: 1, deadlineDay: 10, reminderDays: [5], sendTime: '00:00' });
    expect(safety.senderName).toBe('安全生产委员会办公室');
    expect(main.senderName).toBe(c.mailbox.senderName); // the mailbox's sender_name, as the main ledger has no office_name of its own
    expect(safety.ledger).toMatchObject({ id: 'safety', title: '安全生产工作台账' });
    expect(c.people).toHaveLength(4); // the mailbox's roster: everyone once
  });

  it('a ledger with people of its own: its owners are among them, and each of them owns one of its tasks', () => {
    const doc = twoLedgers();
    doc.ledgers[1].people = [{ name: '张安全', email: 'zhang@x.cn' }, { name: '闲人', email: 'xian@x.cn' }];
    expect(problems(doc)).toEqual([
      'ledgers[1].tasks[0].owners[0]: "艾延坤" is not one of ledgers[1].people[].name',
      'ledgers[1].tasks[1].owners[0]: "马红霞" is not one of ledgers[1].people[].name',
    ]);
    doc.ledgers[1].people = [{ name: '艾延坤', email: 'ai-safety@x.cn' }, { name: '马红霞', email: 'ma@x.cn' }, { name: '闲人', email: 'xian@x.cn' }];
    expect(problems(doc)).toEqual(['ledgers[1].people: 闲人 owns no task']);
    doc.ledgers[1].people.pop();
    const c = parseConfig(doc, 'x.yaml', env);
    expect(c.ledgers[1].people.map((p) => p.email)).toEqual(['ai-safety@x.cn', 'ma@x.cn']);
  });

  it('tells every problem of ledgers with its path: ids, both forms, nothing to inherit, a schedule checked as the top level\'s', () => {
    const doc = twoLedgers();
    doc.ledger = example().ledger;
    doc.ledgers[1].id = 'Safety Office';
    doc.ledgers.push({ id: 'main', title: '重复', tasks: [{ no: 1, task: 'x', owners: ['艾延坤'] }, { no: 1, task: 'y', owners: ['无此人'] }] });
    doc.ledgers[0].schedule = { first_period: '2020-06', send_day: 25, deadline_day: 20, cadence_typo: 1 };
    delete doc.office;
    expect(problems(doc)).toEqual(expect.arrayContaining([
      'ledgers: cannot be used together with ledger: write the ledger under ledgers as well (with id: main, to keep its records)',
      'ledgers[1].id: must be 1 to 32 of a-z, 0-9, "_" and "-", starting with a letter or digit',
      'ledgers[2].id: appears twice',
      'ledgers[2].tasks[1].no: appears twice',
      'ledgers[2].tasks[1].owners[0]: "无此人" is not one of people[].name',
      'ledgers[0].schedule.send_day: must not be after deadline_day (20)',
      'ledgers[0].schedule.cadence_typo: unknown key (expected one of: cadence, first_period, last_period, send_day, deadline_day, reminder_days, status_days, send_weekday, deadline_weekday, reminder_weekdays, status_weekdays, send_time, deadline_time, deadline_shift, calendar, holidays, extra_workdays, cron)',
      'ledgers[0].office: is required: there is no top-level office to inherit',
      'ledgers[1].office: is required: there is no top-level office to inherit',
    ]));
    // Without either, the ledger is what is missing.
    const none = example();
    delete none.ledger;
    expect(problems(none)).toEqual(['ledger: is required (or ledgers, for several)']);
  });

  it('a top-level person who owns no task in any ledger that inherits the top-level people is a problem', () => {
    const doc = twoLedgers();
    doc.people.push({ name: '新来的', department: '办公室', email: 'xin@x.cn' });
    expect(problems(doc)).toEqual(['people: 新来的 owns no task in a ledger without people of its own']);
  });

  it('units are a key of each ledger; a unit\'s address in two ledgers is a problem', () => {
    const doc = twoLedgers();
    doc.ledgers[1].units = [{ name: '市消防支队', email: 'Fire@unit.cn' }];
    const c = parseConfig(doc, 'x.yaml', env);
    expect(c.ledgers[1].ledger.units).toEqual([{ name: '市消防支队', email: 'fire@unit.cn' }]);
    expect(c.ledgers[0].ledger.units).toBeUndefined();
    doc.ledgers[0].units = [{ name: '消防支队', email: 'fire@unit.cn' }];
    expect(problems(doc)).toEqual(['ledgers[1].units[0].email: is a unit of another ledger too: a unit\'s address may be in one ledger only']);
  });

  it('each ledger\'s own schedule is read by the one schedule schema: a weekly ledger beside a monthly one', () => {
    const doc = twoLedgers();
    doc.ledgers[1].schedule = { cadence: 'weekly', first_period: '2020-W27', send_weekday: 1, deadline_weekday: 5, deadline_time: '12:00' };
    const c = parseConfig(doc, 'x.yaml', env);
    expect(c.ledgers[0].schedule.cadence).toBe('monthly');
    expect(c.ledgers[1].schedule).toMatchObject({ cadence: 'weekly', firstPeriod: '2020-W27', sendDay: 1, deadlineDay: 5, deadlineTime: '12:00' });
    doc.ledgers[1].schedule = { cadence: 'weekly', first_period: '2020-07', send_day: 1 };
    expect(problems(doc)).toEqual(expect.arrayContaining([
      'ledgers[1].schedule.first_period: must be an ISO week as YYYY-Www (e.g. 2020-W27) for a weekly schedule',
      'ledgers[1].schedule.send_day: is not used by a weekly schedule; use send_weekday (1 = Monday … 7 = Sunday)',
    ]));
  });
});
