/**
 * The close every mail shares, as an official notice ends: the office's name with the date it
 * was written under it, and who to call (when the config names a contact or a phone).
 */
import { chineseDate } from '../core/calendar.js';
import type { Config } from '../app/config.js';

export interface Signature {
  officeName: string;
  /** The date the mail was written: 2020年6月21日. */
  sentDate: string;
  /** "（联系人：张三，电话：010-12345678）", or "" when the config names neither. */
  contactLine: string;
}

/** "（联系人：…，电话：…）" from `office_contact` and `office_phone`; empty when both are unset. */
export function contactLine(config: { officeContact?: string; officePhone?: string }): string {
  const parts = [config.officeContact && `联系人：${config.officeContact}`, config.officePhone && `电话：${config.officePhone}`].filter(Boolean);
  return parts.length ? `（${parts.join('，')}）` : '';
}

export function signature(config: Pick<Config, 'officeContact' | 'officePhone' | 'timezone' | 'mailbox'>, now: Date): Signature {
  return { officeName: config.mailbox.senderName, sentDate: chineseDate(now, config.timezone), contactLine: contactLine(config) };
}
