/**
 * How much of what people wrote a receipt repeats back. The receipt shows what was recorded so
 * the sender can check it, but a 1 MB cell must not make a multi-megabyte mail: each echoed text
 * is cut at {@link ECHO_CELL_CHARS} and the whole echo at {@link ECHO_TOTAL_CHARS}, each cut
 * saying so. The recorded report always keeps the full words.
 */

/** At most this many characters of one echoed cell. */
export const ECHO_CELL_CHARS = 3000;
/** At most this many characters echoed in one receipt, all cells together. */
export const ECHO_TOTAL_CHARS = 10_000;

/** Characters as people count them (code points, not UTF-16 units). */
export function charCount(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** The first `max` UTF-16 units of `text`, one fewer rather than half a surrogate pair. */
function head(text: string, max: number): string {
  if (text.length <= max) return text;
  const c = text.charCodeAt(max - 1);
  return text.slice(0, c >= 0xd800 && c <= 0xdbff ? max - 1 : max);
}

/** Hands out the echo of one receipt, cell by cell, within the limits. */
export class EchoBudget {
  private left = ECHO_TOTAL_CHARS;
  /** Some text was cut: the receipt says that the full text was recorded. */
  cut = false;

  /** The part of `text` to echo; a cut one ends with a note of its full length. */
  take(text: string): string {
    const room = Math.min(ECHO_CELL_CHARS, this.left);
    if (text.length <= room) {
      this.left -= text.length;
      return text;
    }
    this.cut = true;
    const shown = head(text, Math.max(0, room));
    this.left -= shown.length;
    const total = charCount(text);
    return shown ? `${shown}……（以下从略，全文共${total}字，已完整登记）` : `（从略，全文共${total}字，已完整登记）`;
  }
}
