/** The form's identity names a week or a quarter as it names a month. */
import { describe, expect, it } from 'vitest';
import { makeToken, parseToken } from '../../src/core/identity.js';

const base = { ledgerKey: '3fa91c', personKey: '0b1e55ed', secret: 's3cret' };

describe('identity tokens of every cadence', () => {
  it('round-trips a week and a quarter, and keeps a month\'s token as it was', () => {
    for (const period of ['2020-W27', '2020-W53', '2020-Q3', '2020-06']) {
      const token = makeToken({ ...base, period });
      expect(parseToken(`表单编号：${token}`, base.secret)).toEqual({ ledgerKey: base.ledgerKey, period, personKey: base.personKey });
    }
    expect(makeToken({ ...base, period: '2020-W27' })).toMatch(/^TZ-3fa91c-2020W27-0b1e55ed-[0-9a-f]{10}$/);
    expect(makeToken({ ...base, period: '2020-06' })).toMatch(/^TZ-3fa91c-202006-0b1e55ed-/);
  });

  it('reads a week typed in lower case, and no token names a week that cannot exist', () => {
    const token = makeToken({ ...base, period: '2020-W27' });
    expect(parseToken(token.replace('W27', 'w27'), base.secret)?.period).toBe('2020-W27');
    expect(() => makeToken({ ...base, period: '2020-W54' })).toThrow();
    expect(parseToken(token.replace('2020W27', '2020W27'.replace('27', '54')), base.secret)).toBeNull();
    // A week's tag does not verify as another week's.
    expect(parseToken(token.replace('W27', 'W28'), base.secret)).toBeNull();
  });
});
