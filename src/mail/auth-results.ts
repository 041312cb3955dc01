/**
 * What the receiving server's Authentication-Results (RFC 8601) say about the From address.
 * Pure: no I/O.
 *
 * Only a failure is acted on (the message is quarantined, never recorded nor answered); a pass
 * grants nothing, so a sender who writes their own "pass" gains nothing. The receiving server
 * prepends its header above anything the sender wrote, so the first Authentication-Results
 * field names the authserv-id we believe, and only fields of that authserv-id are read.
 */

/** One method's result, e.g. `dmarc=fail header.from=x.cn`. */
export interface AuthResult { method: string; result: string; props: Record<string, string> }

/** Removes RFC 5322 comments `( … )`, nested, outside quoted strings. */
function stripComments(s: string): string {
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length) {
      if (depth === 0) out += c + s[i + 1];
      i++;
    } else if (quoted) {
      out += c;
      if (c === '"') quoted = false;
    } else if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (depth === 0) {
      if (c === '"') quoted = true;
      out += c;
    }
  }
  return out;
}

/** Splits on `;` outside quoted strings. */
function splitResinfo(s: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (const c of s) {
    if (c === '"') quoted = !quoted;
    if (c === ';' && !quoted) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter(Boolean);
}

/** One Authentication-Results field: its authserv-id and each method's result. */
export function parseAuthResults(value: string): { servId: string; results: AuthResult[] } {
  const [head = '', ...rest] = splitResinfo(stripComments(value.replace(/\r?\n[ \t]+/g, ' ')));
  const servId = head.split(/\s+/)[0]?.toLowerCase() ?? '';
  const results: AuthResult[] = [];
  for (const part of rest) {
    const tokens = part.match(/[^\s=]+\s*=\s*(?:"[^"]*"|[^\s]+)|\S+/g) ?? [];
    const first = /^([a-z0-9_-]+)(?:\/\d+)?\s*=\s*([a-z]+)$/i.exec(tokens[0] ?? '');
    if (!first) continue;
    const props: Record<string, string> = {};
    for (const t of tokens.slice(1)) {
      const m = /^([a-z0-9_.-]+)\s*=\s*"?([^"]*)"?$/i.exec(t);
      if (m) props[m[1].toLowerCase()] = m[2].trim().toLowerCase();
    }
    results.push({ method: first[1].toLowerCase(), result: first[2].toLowerCase(), props });
  }
  return { servId, results };
}

/** The domain of an address or a bare domain, lower-case. */
function domainOf(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const d = v.includes('@') ? v.slice(v.lastIndexOf('@') + 1) : v;
  return d.replace(/[<>]/g, '').trim().toLowerCase() || undefined;
}

/** Same organisational domain, loosely: equal, or one a subdomain of the other (DMARC's relaxed alignment). */
function aligned(a: string | undefined, fromDomain: string): boolean {
  if (!a) return false;
  return a === fromDomain || a.endsWith(`.${fromDomain}`) || fromDomain.endsWith(`.${a}`);
}

/**
 * Why the receiving server's results show the From address forged, or null. `fields` are the
 * message's Authentication-Results values, top first. A failure counts when it is about the
 * From domain (DMARC, or SPF/DKIM for that domain or not naming one) and nothing aligned with it
 * passed (a forwarder breaks SPF, while the sender's DKIM signature still proves the mail).
 */
export function authFailure(fields: readonly string[], from: string): string | null {
  if (fields.length === 0 || !from) return null;
  const parsed = fields.map(parseAuthResults);
  const servId = parsed[0].servId;
  const results = parsed.filter((p) => p.servId === servId).flatMap((p) => p.results);
  const fromDomain = domainOf(from);
  if (!fromDomain) return null;
  const about = (r: AuthResult, ...keys: string[]) => {
    const named = keys.map((k) => r.props[k]).find(Boolean);
    return !named || aligned(domainOf(named), fromDomain);
  };
  const dmarcFail = results.find((r) => r.method === 'dmarc' && r.result === 'fail' && about(r, 'header.from'));
  if (dmarcFail) return `dmarc=fail for ${fromDomain} (Authentication-Results of ${servId})`;
  const alignedPass = results.some((r) => r.result === 'pass'
    && (r.method === 'dmarc' || (r.method === 'dkim' && aligned(domainOf(r.props['header.d'] ?? r.props['header.i']), fromDomain))));
  if (alignedPass) return null;
  const other = results.find((r) => r.result === 'fail'
    && ((r.method === 'spf' && about(r, 'smtp.mailfrom', 'smtp.helo')) || (r.method === 'dkim' && about(r, 'header.d', 'header.i'))));
  return other ? `${other.method}=fail for ${fromDomain} (Authentication-Results of ${servId})` : null;
}

/** The Authentication-Results fields of a raw header block, in order, unfolded. */
export function authResultsFields(headerBlock: string): string[] {
  const out: string[] = [];
  const unfolded = headerBlock.replace(/\r?\n(?=[ \t])/g, '');
  for (const line of unfolded.split(/\r?\n/)) {
    const m = /^authentication-results[ \t]*:(.*)$/i.exec(line);
    if (m) out.push(m[1].trim());
  }
  return out;
}
