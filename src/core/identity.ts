/**
 * The identity token written into every per-person form: it says which ledger, which month and
 * which person a returned spreadsheet belongs to, and carries a truncated HMAC-SHA256 tag so that
 * a stranger cannot forge one for somebody else.
 *
 * Format (ASCII only, nothing that Excel, WPS or LibreOffice rewrite: no leading `=`, no quotes,
 * no digits-only run that could be turned into a number, no `--` that autocorrect makes a dash):
 *
 *     TZ-<ledgerKey: 6 hex>-<YYYYMM>-<personKey: 8 hex>-<tag: 10 hex>
 *
 * (a weekly or quarterly ledger's period is written YYYYWww or YYYYQn: `2020W27`, `2020Q3`)
 *
 * The person key is derived from the person's configured id ({@link personKeyOf}); forms written
 * before ids existed carry one derived from the address ({@link addressKeyOf}), still accepted.
 *     TZ-3fa91c-202006-0b1e55ed-8d2c41a7f0
 *
 * Hex is written in lower case; parsing accepts either case and the usual ways a token gets
 * mangled when it is copied by hand or through a word processor (full-width letters and hyphens,
 * typographic dashes, spaces around hyphens).
 *
 * The tag is HMAC-SHA256(secret, "TZ1|<ledgerKey>|<YYYYMM>|<personKey>") truncated to 40 bits.
 * 40 bits is plenty against guessing by mail (each guess costs a mail round trip and shows up in
 * the log) while keeping the token short enough to read aloud over the phone.
 *
 * Everything here is pure (node:crypto only).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { TaizhangError } from '../errors.js';

/** Name of the hidden sheet whose A1 carries the token in every form. */
export const IDENTITY_SHEET = '_taizhang';

/** What a token identifies. */
export interface TokenFields {
  /** 6 lower-case hex digits, see {@link ledgerKeyOf}. */
  ledgerKey: string;
  /** The reporting period: `YYYY-MM`, `YYYY-Www` or `YYYY-Qn`. */
  period: string;
  /** 8 lower-case hex digits, see {@link personKeyOf} (and {@link addressKeyOf}). */
  personKey: string;
}

/** Input of {@link makeToken}. */
export interface TokenInput extends TokenFields {
  /** The installation's secret (from the configuration). Must not be empty. */
  secret: string;
}

const LEDGER_KEY_RE = /^[0-9a-f]{6}$/;
const PERSON_KEY_RE = /^[0-9a-f]{8}$/;
const PERIOD_RE = /^(\d{4})-(0[1-9]|1[0-2]|W(?:0[1-9]|[1-4]\d|5[0-3])|Q[1-4])$/;
const TAG_HEX = 10;
const DOMAIN = 'TZ1';

/**
 * Finds token-shaped substrings once the text has been normalised (see {@link normalizeForToken}).
 * The lookbehind keeps `XTZ-…` (a token glued to a longer word) from matching at an odd place;
 * the lookahead rejects a longer hex run so that a tag cannot be silently truncated.
 */
const TOKEN_SCAN_RE = /(?<![0-9A-Za-z])TZ-([0-9a-f]{6})-(\d{4})(\d{2}|W\d{2}|Q\d)-([0-9a-f]{8})-([0-9a-f]{10})(?![0-9a-f])/gi;

/**
 * The ledger key: the first 6 hex digits of sha256 of the title (NFKC-normalised, surrounding
 * whitespace removed, inner whitespace collapsed), so a title copied with a stray space or in
 * full-width characters gives the same key.
 */
export function ledgerKeyOf(title: string): string {
  const norm = title.normalize('NFKC').replace(/\s+/gu, ' ').trim();
  return createHash('sha256').update(norm, 'utf8').digest('hex').slice(0, 6);
}

/**
 * The ledger key of a ledger's forms. The `main` ledger keeps the key of its title, which every
 * form sent before ledgers had ids carries; any other ledger's is derived from its id (so its
 * forms name it whatever its title becomes, and no title can pass for another ledger's id).
 */
export function ledgerKeyFor(ledger: { id?: string; title: string }): string {
  if (ledger.id === undefined || ledger.id === 'main') return ledgerKeyOf(ledger.title);
  return createHash('sha256').update(`ledger\u0000${ledger.id}`, 'utf8').digest('hex').slice(0, 6);
}

const personKeys = new Map<string, string>();

/** The first 8 hex digits of sha256 of `text`, remembered: matching a reply looks up every person's keys. */
function key8(text: string): string {
  let key = personKeys.get(text);
  if (key !== undefined) return key;
  key = createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 8);
  if (personKeys.size >= 100_000) personKeys.clear();
  personKeys.set(text, key);
  return key;
}

/**
 * The person key of the forms written now: from the person's stable id (`people[].id`), so a form
 * keeps naming its person when their address changes. Domain-separated from {@link addressKeyOf}.
 */
export function personKeyOf(person: { id: string }): string {
  return key8(`id\u0000${person.id.normalize('NFKC').trim()}`);
}

/**
 * The person key of forms written before people had ids: the first 8 hex digits of sha256 of
 * the e-mail address, trimmed and lower-cased. Such forms are still out there and still accepted.
 */
export function addressKeyOf(email: string): string {
  return key8(email.normalize('NFKC').trim().toLowerCase());
}

/** Every key a form of this person may carry: their id's, then (older forms) their address's. */
export function personKeysOf(person: { id: string; email: string }): [string, string] {
  return [personKeyOf(person), addressKeyOf(person.email)];
}

const tags = new Map<string, string>();

function tagOf(ledgerKey: string, yyyymm: string, personKey: string, secret: string): string {
  // Remembered: a reply's token is checked in each place it is written, then once more.
  const key = `${secret}\u0000${ledgerKey}|${yyyymm}|${personKey}`;
  let tag = tags.get(key);
  if (tag !== undefined) return tag;
  tag = createHmac('sha256', secret)
    .update(`${DOMAIN}|${ledgerKey}|${yyyymm}|${personKey}`, 'utf8')
    .digest('hex')
    .slice(0, TAG_HEX);
  if (tags.size >= 10_000) tags.clear();
  tags.set(key, tag);
  return tag;
}

/**
 * Builds the token for one ledger, month and person.
 * @throws TaizhangError INTERNAL when a field is malformed or the secret is empty (a programming
 *   or configuration error, never caused by a reply).
 */
export function makeToken(input: TokenInput): string {
  const { ledgerKey, period, personKey, secret } = input;
  if (!LEDGER_KEY_RE.test(ledgerKey)) throw new TaizhangError('INTERNAL', `ledgerKey must be 6 lower-case hex digits, got ${JSON.stringify(ledgerKey)}`);
  if (!PERSON_KEY_RE.test(personKey)) throw new TaizhangError('INTERNAL', `personKey must be 8 lower-case hex digits, got ${JSON.stringify(personKey)}`);
  const m = PERIOD_RE.exec(period);
  if (!m) throw new TaizhangError('INTERNAL', `period must be YYYY-MM, YYYY-Www or YYYY-Qn, got ${JSON.stringify(period)}`);
  if (typeof secret !== 'string' || secret.length === 0) throw new TaizhangError('INTERNAL', 'token secret is empty');
  const yyyymm = `${m[1]}${m[2]}`;
  return `TZ-${ledgerKey}-${yyyymm}-${personKey}-${tagOf(ledgerKey, yyyymm, personKey, secret)}`;
}

/**
 * Undoes the harmless ways a token gets mangled: full-width ASCII (NFKC), typographic dashes and
 * minus signs, and spaces typed around the hyphens. Only used for searching; never for storage.
 */
export function normalizeForToken(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\u2010-\u2015\u2212\uFE58\uFE63\u30FC\u2500]/g, '-')
    .replace(/\s*-\s*/g, '-');
}

/** A token-shaped substring found in a text, before or without verification. */
export interface TokenCandidate extends TokenFields {
  /** The token in canonical form (lower-case hex). */
  token: string;
  /** The tag as found (lower case). */
  tag: string;
}

/**
 * Every token-shaped substring of `text`, in order of appearance, without checking the tag.
 * Months outside 01–12 are not token-shaped. At most `max` candidates are returned.
 */
export function findTokenCandidates(text: string, max = 20): TokenCandidate[] {
  if (!text || text.length < 36) return [];
  const hay = normalizeForToken(text);
  const out: TokenCandidate[] = [];
  TOKEN_SCAN_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while (out.length < max && (m = TOKEN_SCAN_RE.exec(hay)) !== null) {
    const within = m[3].toUpperCase(); // month "06", week "W27", quarter "Q3"
    if (!PERIOD_RE.test(`${m[2]}-${within}`)) continue;
    const ledgerKey = m[1].toLowerCase();
    const personKey = m[4].toLowerCase();
    const tag = m[5].toLowerCase();
    out.push({
      ledgerKey,
      period: `${m[2]}-${within}`,
      personKey,
      tag,
      token: `TZ-${ledgerKey}-${m[2]}${within}-${personKey}-${tag}`,
    });
  }
  return out;
}

/** True when the candidate's tag is the HMAC for its fields under `secret` (constant time). */
export function verifyCandidate(c: TokenCandidate, secret: string): boolean {
  if (!secret) return false;
  const expected = Buffer.from(tagOf(c.ledgerKey, c.period.replace('-', ''), c.personKey, secret), 'ascii');
  const actual = Buffer.from(c.tag, 'ascii');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * Finds the first token anywhere in `text` whose tag verifies under `secret`.
 * Forged, altered or foreign tokens are skipped, so a text quoting several tokens still yields
 * the genuine one. Returns null when there is none (or the secret is empty).
 */
export function parseToken(text: string, secret: string): TokenFields | null {
  if (!secret) return null;
  for (const c of findTokenCandidates(text)) {
    if (verifyCandidate(c, secret)) return { ledgerKey: c.ledgerKey, period: c.period, personKey: c.personKey };
  }
  return null;
}

/**
 * Like {@link parseToken} but returns the canonical token string too, which is what a reply
 * records. Returns null when nothing verifies.
 */
export function findVerifiedToken(text: string, secret: string): (TokenFields & { token: string }) | null {
  if (!secret) return null;
  for (const c of findTokenCandidates(text)) {
    if (verifyCandidate(c, secret)) return { ledgerKey: c.ledgerKey, period: c.period, personKey: c.personKey, token: c.token };
  }
  return null;
}
