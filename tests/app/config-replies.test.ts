/** The config keys of replies without a form: text_replies and no_progress_words. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/app/config.js';
import { configProblems, exampleConfig } from '../helpers/config.js';

const env = { TAIZHANG_MAIL_PASSWORD: 'pw' };
const example = exampleConfig;
const parse = (edit: Record<string, unknown>) => parseConfig({ ...example(), ...edit }, 'x.yaml', env);

const problems = (edit: Record<string, unknown>) => configProblems({ ...example(), ...edit }, env);

describe('text_replies and no_progress_words', () => {
  it('default: forward, and the four no-progress words', () => {
    const c = parse({});
    expect(c.textReplies).toBe('forward');
    expect(c.noProgressWords).toEqual(['本月无进展', '本期无进展', '无新进展', '暂无进展']);
  });

  it('as written', () => {
    const c = parse({ text_replies: 'desk', no_progress_words: ['本周无进展', '无'] });
    expect(c.textReplies).toBe('desk');
    expect(c.noProgressWords).toEqual(['本周无进展', '无']);
    expect(parse({ no_progress_words: [] }).noProgressWords).toEqual([]);
  });

  it('wrong values are named', () => {
    expect(problems({ text_replies: 'mail' })).toEqual(['text_replies: must be forward or desk']);
    expect(problems({ no_progress_words: '本月无进展' })).toEqual(['no_progress_words: must be a list of words']);
    expect(problems({ no_progress_words: ['本月无进展', ' '] })).toEqual(['no_progress_words: must not hold an empty word']);
  });
});
