import Handlebars from 'handlebars';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { TaizhangError } from '../errors.js';
import { periodWords } from '../core/period.js';

export type MailKind = 'request' | 'reminder' | 'receipt' | 'notice' | 'ledger' | 'status' | 'unit-request' | 'unit-reminder' | 'unit-receipt' | 'forward';

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
    // A kind the office's own copy predates (it has none of its files) reads the shipped wording.
    const own = existsSync(path.join(this.dir, `${kind}.subject.hbs`)) || existsSync(path.join(this.dir, `${kind}.text.hbs`));
    const dir = own ? this.dir : DEFAULT_TEMPLATES_DIR;
    const read = (part: string, escape: boolean) => {
      const file = path.join(dir, `${kind}.${part}.hbs`);
      if (!existsSync(file)) return undefined;
      try {
        return this.hb.compile(readFileSync(file, 'utf8'), { noEscape: !escape, strict: false });
      } catch (err) {
        throw new TaizhangError('TEMPLATE', `template ${file}: ${(err as Error).message}`);
      }
    };
    const subject = read('subject', false);
    const text = read('text', false);
    if (!subject || !text) throw new TaizhangError('TEMPLATE', `missing template ${kind}.subject.hbs or ${kind}.text.hbs in ${dir}`);
    c = { subject, text, html: read('html', true) };
    this.cache.set(kind, c);
    return c;
  }

  /** `words` (本月/本周/本季度 …, see periodWords) are a month's unless the data names others. */
  render(kind: MailKind, data: object): RenderedMail {
    const c = this.load(kind);
    data = { words: periodWords('monthly'), ...data };
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
