/** `check` and the tick warn from 1 November when next year's holidays are not in the data (clock injected with --now). */
import { describe, expect, it } from 'vitest';
import { chinaCalendar } from '../../src/cycle/workdays.js';
import { useMailStack } from '../helpers/mail-stack.js';
import { makeProject } from '../helpers/project.js';
import { isolate } from '../helpers/fleet.js';

const mail = useMailStack();
/** The last year the installed chinese-days data covers (so the test holds after the package is updated). */
const last = Math.max(...Array.from({ length: 100 }, (_, i) => 2000 + i).filter((y) => chinaCalendar().covers(y)));

describe('the holiday calendar of next year', () => {
  it('is asked for from 1 November, by check (still exit 0) and in the tick\'s log', async () => {
    const p = makeProject(mail(), (d) => { isolate(d); d.schedule.calendar = 'cn'; d.schedule.first_period = `${last}-06`; delete d.schedule.last_period; });
    const october = await p.cli('check', '--now', `${last}-10-31T12:00`);
    expect(october.code, october.stdout + october.stderr).toBe(0);
    expect(october.stdout).not.toContain('schedule.calendar');
    const november = await p.cli('check', '--now', `${last}-11-01T09:00`);
    expect(november.code, november.stdout + november.stderr).toBe(0);
    expect(november.stdout).toContain(`! schedule.calendar`);
    expect(november.stdout).toContain(`节假日数据尚无${last + 1}年安排`);
    const tick = await p.cli('tick', '--now', `${last}-11-02T09:00`);
    expect(tick.code, tick.stderr).toBe(0);
    expect(tick.stderr).toContain(`China's holiday calendar for ${last + 1} is not in the installed chinese-days data`);
    expect(tick.stderr.match(/China's holiday calendar/g)).toHaveLength(1);
  });
});
