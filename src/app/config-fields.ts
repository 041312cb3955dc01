/**
 * The building blocks of the config schema: fields that accept what YAML gives (text for every
 * scalar, see parseYamlText) as well as numbers and booleans from a document built in code, and
 * report problems in the words the config's users see (`must be a whole number from 1 to 31`).
 */
import { z } from 'zod';
import { ADDRESS as EMAIL } from '../mail/headers.js';

const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;

/** An empty value (`key:`, `~`, `""`) is an absent one. */
const blank = (v: unknown): unknown => (v === null || v === '' ? undefined : v);
const toText = (v: unknown): unknown => (typeof v === 'number' ? String(v) : blank(v));
const toNumber = (v: unknown): unknown => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : blank(v));
const toBool = (v: unknown): unknown => {
  if (typeof v !== 'string') return blank(v);
  if (/^(true|True|TRUE)$/.test(v)) return true;
  if (/^(false|False|FALSE)$/.test(v)) return false;
  return blank(v);
};
const toNames = (v: unknown): unknown => (typeof v === 'string' ? v.split(/[、,,\s]+/).filter(Boolean) : blank(v));

/** `is required` when the value is absent, else `text`. */
const says = (text: string) => ({ error: (iss: { input?: unknown }) => (iss.input === undefined ? 'is required' : text) });
const string = () => z.string(says('must be text'));

export const text = () => z.preprocess(toText, string());
export const textOr = (dflt: string) => z.preprocess(toText, string().default(dflt));
export const optText = () => z.preprocess(toText, string().optional());
/** Text that must match `pattern` (told as `problem`), with a default. */
export const patternOr = (pattern: RegExp, problem: string, dflt: string) => z.preprocess(toText, string().regex(pattern, problem).default(dflt));
export const email = () => z.preprocess(toText, string().regex(EMAIL, 'not an email address'));
export const lowerEmail = () => z.preprocess(toText, string().regex(EMAIL, 'not an email address').toLowerCase());

function whole(min: number, max: number, required = true) {
  const problem = `must be a whole number from ${min} to ${max}`;
  return z.number(required ? says(problem) : { error: problem })
    .refine((n) => Number.isInteger(n) && n >= min && n <= max, problem);
}
export const int = (min: number, max: number) => z.preprocess(toNumber, whole(min, max));
export const intOr = (min: number, max: number, dflt: number) => z.preprocess(toNumber, whole(min, max).default(dflt));
export const optInt = (min: number, max: number) => z.preprocess(toNumber, whole(min, max).optional());
export const intListOr = (min: number, max: number, dflt: number[]) => z.preprocess(blank, z.array(
  z.preprocess(toNumber, whole(min, max, false)),
  { error: 'must be a list of numbers' },
).default(() => [...dflt]));

const boolean = () => z.boolean(says('must be true or false'));
export const boolOr = (dflt: boolean) => z.preprocess(toBool, boolean().default(dflt));
export const optBool = () => z.preprocess(toBool, boolean().optional());

const month = () => z.string({ error: (iss) => (iss.input === undefined ? 'is required (YYYY-MM)' : 'must be a month as YYYY-MM') })
  .regex(PERIOD, 'must be a month as YYYY-MM');
export const period = () => z.preprocess(toText, month());
export const optPeriod = () => z.preprocess(toText, month().optional());

/** A list of whole numbers, absent when not given (a schedule tells which cadence a key is for). */
export const optIntList = (min: number, max: number) => z.preprocess(blank, z.array(
  z.preprocess(toNumber, whole(min, max, false)),
  { error: 'must be a list of numbers' },
).optional());

/** One of `choices`, with a default. */
export const choiceOr = <T extends string>(choices: readonly [T, ...T[]], dflt: T) => z.preprocess(toText, z.enum(choices, {
  error: (iss) => (iss.input === undefined ? 'is required' : `must be one of: ${choices.join(', ')}`),
}).default(dflt as never));
export const optChoice = <T extends string>(choices: readonly [T, ...T[]]) => z.preprocess(toText, z.enum(choices, {
  error: () => `must be one of: ${choices.join(', ')}`,
}).optional());

/** A list of texts (dates, checked by whoever knows what they mean), empty when absent. */
export const textList = () => z.preprocess(blank, z.array(z.preprocess(toText, z.string({ error: 'must be text' })), { error: 'must be a list' }).default(() => []));

/** A list of names, or one string split on 、, commas or spaces. */
export const names = () => z.preprocess(toNames, z.custom<string[]>(
  (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'),
  { error: 'must be a list of names' },
).default(() => []));

/** A mapping whose keys are all known: a misspelt one is named with the key it was likely meant to be. */
export function mapping<S extends z.core.$ZodLooseShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') return iss.keys.map((k) => unknownKey(k, known)).join('\n');
      return iss.input === undefined ? 'is required' : 'must be a mapping';
    },
  });
}

/** A list of `item`, not empty (`empty` tells what it needs). */
export const list = <T extends z.ZodType>(item: T, empty: string) => z.array(item, says('must be a list')).min(1, empty);

/**
 * The message of an unrecognized_keys issue holds one line per key, in the issue's order
 * (formatIssues puts each under its own path).
 */
export function unknownKey(key: string, known: string[]): string {
  const near = closest(key, known);
  return near ? `unknown key; did you mean ${near}?` : `unknown key (expected one of: ${known.join(', ')})`;
}

/** The known key within a third of its length in edits (at least one) of `key`. */
export function closest(key: string, known: string[]): string | undefined {
  const norm = (s: string) => s.replace(/([a-z])([A-Z])/g, '$1_$2').replace(/-/g, '_').toLowerCase();
  let best: { key: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(norm(key), norm(k));
    if (d <= Math.max(1, Math.floor(Math.max(key.length, k.length) / 3)) && (!best || d < best.d)) best = { key: k, d };
  }
  return best?.key;
}

/** Levenshtein distance counting a swap of two neighbours as one edit (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** A refinement's context: where its problems are added. */
export type Ctx = z.core.$RefinementCtx;

/**
 * Checks across fields run even when some fields are wrong (`when`), so every problem is told
 * at once; they look only at fields without a problem of their own (`clean`).
 */
export const ALWAYS = { when: () => true };

/** Whether no problem was found at `at`, inside it or around it: only then is its value the parsed type. */
export function cleanIn(ctx: Ctx) {
  return (...at: PropertyKey[]) => !ctx.issues.some((iss) => {
    if (iss.code === 'unrecognized_keys') return false;
    const p = iss.path ?? [];
    for (let i = 0; i < Math.min(p.length, at.length); i++) if (p[i] !== at[i]) return false;
    return true;
  });
}

export function problem(ctx: Ctx, at: PropertyKey[], message: string): void {
  ctx.addIssue({ code: 'custom', path: at, message, input: undefined });
}
