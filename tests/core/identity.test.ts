import { describe, expect, it } from 'vitest';
import {
  addressKeyOf, findTokenCandidates, findVerifiedToken, ledgerKeyOf, makeToken, normalizeForToken, parseToken, personKeyOf, personKeysOf,
} from '../../src/core/identity.js';

const secret = 's3cret';
const fields = { ledgerKey: ledgerKeyOf('落实《濮阳市人民政府2020年法治政府建设冲刺方案》工作台账'), period: '2020-06', personKey: personKeyOf({ id: '艾延坤' }) };

describe('keys', () => {
  it('are short lower-case hex and stable under harmless variation', () => {
    expect(fields.ledgerKey).toMatch(/^[0-9a-f]{6}$/);
    expect(fields.personKey).toMatch(/^[0-9a-f]{8}$/);
    expect(ledgerKeyOf('  落实《濮阳市人民政府2020年法治政府建设冲刺方案》工作台账 ')).toBe(fields.ledgerKey);
    expect(ledgerKeyOf('落实《濮阳市人民政府２０２０年法治政府建设冲刺方案》工作台账')).toBe(fields.ledgerKey);
    expect(personKeyOf({ id: ' 艾延坤 ' })).toBe(fields.personKey);
    expect(personKeyOf({ id: '王群才' })).not.toBe(fields.personKey);
  });

  it('a person has the key of their id, and (forms written before ids) that of their address', () => {
    const legacy = addressKeyOf('aiyankun@example.com');
    expect(legacy).toMatch(/^[0-9a-f]{8}$/);
    expect(addressKeyOf(' AiYanKun@Example.COM ')).toBe(legacy);
    expect(addressKeyOf('other@example.com')).not.toBe(legacy);
    // An id that happens to be an address still gives another key than that address does.
    expect(personKeyOf({ id: 'aiyankun@example.com' })).not.toBe(legacy);
    expect(personKeysOf({ id: '艾延坤', email: 'aiyankun@example.com' })).toEqual([fields.personKey, legacy]);
    // The id's key does not depend on the address.
    expect(personKeysOf({ id: '艾延坤', email: 'new@example.com' })[0]).toBe(fields.personKey);
  });
});

describe('makeToken / parseToken', () => {
  const token = makeToken({ ...fields, secret });

  it('has the documented ASCII shape', () => {
    expect(token).toMatch(/^TZ-[0-9a-f]{6}-202006-[0-9a-f]{8}-[0-9a-f]{10}$/);
    expect(makeToken({ ...fields, secret })).toBe(token);
  });

  it('round-trips, found anywhere in a text', () => {
    expect(parseToken(token, secret)).toEqual(fields);
    expect(parseToken(`表单编号:${token}(请勿修改)`, secret)).toEqual(fields);
    expect(parseToken(`表单编号：${token}（请勿修改）`, secret)).toEqual(fields); // the line as forms now write it
    expect(parseToken(`Re: 2020年6月进展\n\n> ${token}\n`, secret)).toEqual(fields);
  });

  it('survives the ways people and programs mangle it', () => {
    expect(parseToken(token.toUpperCase(), secret)).toEqual(fields);
    const fullWidth = token.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
    expect(parseToken(fullWidth, secret)).toEqual(fields);
    expect(parseToken(token.replace(/-/g, ' – '), secret)).toEqual(fields);
    expect(normalizeForToken('TZ－abc')).toBe('TZ-abc');
  });

  it('rejects forgeries, other secrets and altered fields', () => {
    expect(parseToken(token, 'other')).toBeNull();
    expect(parseToken(token, '')).toBeNull();
    const otherPerson = token.replace(fields.personKey, personKeyOf({ id: 'x' }));
    expect(parseToken(otherPerson, secret)).toBeNull();
    expect(parseToken(token.replace('202006', '202007'), secret)).toBeNull();
    const tag = token.slice(-10);
    expect(parseToken(token.slice(0, -10) + (tag[0] === 'a' ? 'b' : 'a') + tag.slice(1), secret)).toBeNull();
    expect(parseToken(`${token}f`, secret)).toBeNull(); // a longer hex run is not our token
    expect(parseToken(token.replace('202006', '202013'), secret)).toBeNull();
  });

  it('skips a forged token and finds the genuine one after it', () => {
    const forged = `TZ-${fields.ledgerKey}-202006-${fields.personKey}-0000000000`;
    expect(findTokenCandidates(`${forged} ${token}`)).toHaveLength(2);
    expect(findVerifiedToken(`${forged} ${token}`, secret)?.token).toBe(token);
  });

  it('refuses malformed input when making one', () => {
    expect(() => makeToken({ ...fields, period: '2020-6', secret })).toThrow(/period/);
    expect(() => makeToken({ ...fields, ledgerKey: 'XYZ', secret })).toThrow(/ledgerKey/);
    expect(() => makeToken({ ...fields, secret: '' })).toThrow(/secret/);
  });
});
