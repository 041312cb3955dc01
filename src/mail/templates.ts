import Handlebars from 'handlebars';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { TaizhangError } from '../errors.js';

export type MailKind = 'request' | 'reminder' | 'receipt' | 'notice' | 'ledger' | 'forward';

export interface RenderedMail { subject: string; text: string; html?: string }

/** The templates shipped with the package (overridable by `templates_dir`). */
export const DEFAULT_TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));

type Compiled = { subject: HandlebarsTemplateDelegate; text: HandlebarsTemplateDelegate; html?: HandlebarsTemplateDelegate };

/**
 * Renders the office-editable mail templates: `<kind>.subject.hbs`, `<kind>.text.hbs` and
 * optionally `<kind>.html.hbs`. HTML templates escape every value; text ones keep it as written.
 */
export class Templates {
  private readonly cache = new Map<MailKind, Compiled>();
  private readonly hb = Handlebars.create();

  constructor(private readonly dir: string = DEFAULT_TEMPLATES_DIR) {
    this.hb.registerHelper('inc', (n: number) => Number(n) + 1);
    this.hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
    this.hb.registerHelper('join', (list: unknown, sep: unknown) => (Array.isArray(list) ? list.join(typeof sep === 'string' ? sep : '、') : ''));
  }

  private load(kind: MailKind): Compiled {
    let c = this.cache.get(kind);
    if (c) return c;
    const read = (part: string, escape: boolean) => {
      // An office's own templates_dir from before a kind existed: that kind's shipped wording.
      const own = path.join(this.dir, `${kind}.${part}.hbs`);
      const shipped = path.join(DEFAULT_TEMPLATES_DIR, `${kind}.${part}.hbs`);
      const file = existsSync(own) || existsSync(path.join(this.dir, `${kind}.text.hbs`)) ? own : shipped;
      if (!existsSync(file)) return undefined;
      try {
        return this.hb.compile(readFileSync(file, 'utf8'), { noEscape: !escape, strict: false });
      } catch (err) {
        throw new TaizhangError('TEMPLATE', `template ${file}: ${(err as Error).message}`);
      }
    };
    const subject = read('subject', false);
    const text = read('text', false);
    if (!subject || !text) throw new TaizhangError('TEMPLATE', `missing template ${kind}.subject.hbs or ${kind}.text.hbs in ${this.dir}`);
    c = { subject, text, html: read('html', true) };
    this.cache.set(kind, c);
    return c;
  }

  render(kind: MailKind, data: object): RenderedMail {
    const c = this.load(kind);
    try {
      return {
        subject: c.subject(data).replace(/\s+/g, ' ').trim(),
        text: c.text(data).replace(/\n{3,}/g, '\n\n').trim() + '\n',
        html: c.html?.(data),
      };
    } catch (err) {
      throw new TaizhangError('TEMPLATE', `template ${kind}: ${(err as Error).message}`);
    }
  }
}
