/**
 * Reading header fields as mailparser gives them (strings, Dates, AddressObjects, structured
 * values) and header-style text (a bounce's delivery-status part, an enclosed message's
 * headers) as plain text and addresses. Pure: no I/O.
 */

/** An address mail can go to: local@domain, no spaces, brackets, quotes or separators. */
export const ADDRESS = /^[^\s@<>()",;]+@[^\s@<>()",;]+\.[^\s@<>()",;]+$/;

/** Where a raw message's header block ends (its first empty line), or its length when it has none. */
export function headerEnd(raw: Buffer): number {
  const ends = [raw.indexOf('\r\n\r\n'), raw.indexOf('\n\n')].filter((i) => i >= 0);
  return ends.length ? Math.min(...ends) : raw.length;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** One header value (mailparser's string / string[] / Date / AddressObject / StructuredHeader …) as text. */
export function headerText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? '' : v.toISOString();
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (Array.isArray(v)) return v.map(headerText).join(', ');
  if (isRecord(v)) {
    // AddressObject
    if (Array.isArray(v.value) && typeof v.text === 'string') {
      const addrs = addressesOf(v);
      return addrs.length ? addrs.join(', ') : v.text;
    }
    // StructuredHeader
    if (typeof v.value === 'string') {
      const params = isRecord(v.params)
        ? Object.entries(v.params)
            .map(([k, p]) => `; ${k}=${String(p)}`)
            .join('')
        : '';
      return v.value + params;
    }
    // ListHeaders and the like
    try {
      return JSON.stringify(v);
    } catch {
      return '';
    }
  }
  return String(v);
}

/** All addresses in a mailparser AddressObject (or array of them), groups flattened. */
function addressesOf(v: unknown): string[] {
  const out: string[] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) return x.forEach(walk);
    if (!isRecord(x)) return;
    if (Array.isArray(x.value)) return walk(x.value);
    if (typeof x.address === 'string' && x.address) out.push(x.address);
    if (Array.isArray(x.group)) walk(x.group);
  };
  walk(v);
  return out;
}

/** Case-insensitive lookup; the map normally has lower-case keys already. */
export function getHeader(headers: ReadonlyMap<string, unknown>, name: string): unknown {
  if (headers.has(name)) return headers.get(name);
  for (const [k, v] of headers) if (k.toLowerCase() === name) return v;
  return undefined;
}

export const ADDRESS_RE = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+/g;

export function firstAddress(v: unknown): string | undefined {
  const structured = addressesOf(v);
  if (structured.length) return structured[0];
  const s = headerText(v);
  const m = s.match(ADDRESS_RE);
  return m ? m[0] : undefined;
}

export function normAddr(a: string): string {
  return a.trim().replace(/^<|>$/g, '').trim().toLowerCase();
}

/** `Return-Path: <>` (mailparser gives an AddressObject with one empty address). */
export function isNullReturnPath(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (isRecord(v) && Array.isArray(v.value)) {
    return addressesOf(v).length === 0 && (v.value as unknown[]).length > 0;
  }
  const s = headerText(v).trim();
  return s === '<>' || s === '< >';
}

/** Splits `type/subtype; a=b; c="d"` into its value and lower-case params. */
export function parseContentType(v: unknown): { value: string; params: Record<string, string> } {
  if (isRecord(v) && typeof v.value === 'string') {
    const params: Record<string, string> = {};
    if (isRecord(v.params)) for (const [k, p] of Object.entries(v.params)) params[k.toLowerCase()] = String(p);
    return { value: v.value.toLowerCase().trim(), params };
  }
  const s = headerText(v);
  const [head = '', ...rest] = s.split(';');
  const params: Record<string, string> = {};
  for (const part of rest) {
    const m = part.match(/^\s*([^=\s]+)\s*=\s*"?([^"]*)"?\s*$/);
    if (m) params[m[1].toLowerCase()] = m[2];
  }
  return { value: head.toLowerCase().trim(), params };
}

/** Unfolds header-style text (`Name: value` with continuation lines) into [name, value] pairs per block. */
export function fieldBlocks(text: string): Array<Array<[string, string]>> {
  const blocks: Array<Array<[string, string]>> = [];
  let block: Array<[string, string]> = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (const line of lines) {
    if (/^\s*$/.test(line)) {
      if (block.length) blocks.push(block);
      block = [];
      continue;
    }
    const m = line.match(/^([A-Za-z][A-Za-z0-9-]*)\s*:\s?(.*)$/);
    if (m) block.push([m[1].toLowerCase(), m[2].trim()]);
    else if (/^[ \t]/.test(line) && block.length) block[block.length - 1][1] += ' ' + line.trim();
  }
  if (block.length) blocks.push(block);
  return blocks;
}
