/** `ledger.units` (局属单位) in the config: read as given, and told when wrong. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/app/config.js';
import { configProblems, exampleConfig } from '../helpers/config.js';

const env = { TAIZHANG_MAIL_PASSWORD: 'pw-123' };
const example = exampleConfig;

const problems = (doc: unknown) => configProblems(doc, env);

describe('ledger.units', () => {
  it('are read with their addresses in lower case; a ledger without them has none', () => {
    const doc = example();
    doc.ledger.units = [{ name: '市司法局', email: 'SFJ@Unit.test' }, { name: '市公安局', email: 'gaj@unit.test' }];
    expect(parseConfig(doc, 'x.yaml', env).ledger.units).toEqual([{ name: '市司法局', email: 'sfj@unit.test' }, { name: '市公安局', email: 'gaj@unit.test' }]);
    expect(parseConfig(example(), 'x.yaml', env).ledger.units).toBeUndefined();
  });

  it('tells a repeated name or address, a person\'s address, the mailbox\'s own, a bad address and unknown keys', () => {
    const doc = example();
    doc.ledger.units = [
      { name: '市司法局', email: 'sfj@unit.test' }, { name: '市司法局', email: 'other@unit.test' },
      { name: '甲', email: 'sfj@unit.test' }, { name: '乙', email: doc.people[0].email }, { name: '丙', email: doc.mailbox.address },
      { name: '丁', email: 'not-an-address' }, { name: '戊', email: 'w@unit.test', phone: '1' },
    ];
    const p = problems(doc).join('\n');
    expect(p).toMatch(/ledger\.units\.1\.name.*appears twice|ledger\.units\[1\]\.name.*appears twice/);
    expect(p).toMatch(/units.*2.*email.*appears twice/);
    expect(p).toMatch(/units.*3.*email.*person's address/);
    expect(p).toMatch(/units.*4.*email.*collection mailbox itself/);
    expect(p).toMatch(/units.*5.*email.*not an email address/);
    expect(p).toMatch(/phone/);
  });
});
