/**
 * Text that XML 1.0 can carry. A workbook is XML: one character it forbids makes the whole file
 * unreadable (exceljs refuses it, Excel calls it damaged), and a reply can bring such characters
 * in, since a sheet may spell them `_xFFFE_`, which readers decode. Every string the writers put
 * into a workbook passes through {@link xmlSafe}.
 */

/** The replacement for a character that cannot be written: visible, so nothing is silently joined. */
export const REPLACEMENT = '\uFFFD';

/**
 * C0 controls other than tab, LF and CR: dropped, as exceljs itself drops them (they are
 * invisible; a vertical tab pasted from Word is the usual one).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const C0 = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g;

/** U+FFFE, U+FFFF and surrogates that are not half of a pair: replaced by U+FFFD. */
const UNPAIRED = /[\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Whether `text` holds a character XML 1.0 forbids. */
export function hasXmlForbidden(text: string): boolean {
  C0.lastIndex = 0;
  UNPAIRED.lastIndex = 0;
  return C0.test(text) || UNPAIRED.test(text);
}

/**
 * `text` with the characters XML 1.0 forbids taken out (C0 controls) or replaced by U+FFFD
 * (U+FFFE, U+FFFF, lone surrogates); every other character is kept exactly.
 */
export function xmlSafe(text: string): string {
  if (!hasXmlForbidden(text)) return text;
  return text.replace(C0, '').replace(UNPAIRED, REPLACEMENT);
}
