/**
 * A taizhang installation for one test file: a config (the shipped example's whole ledger) pointed
 * at a real local mail stack, a data folder, and the real command line to drive it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { simpleParser, type ParsedMail } from 'mailparser';
import { parseYaml, stringifyYaml as stringify } from '../../src/app/yaml.js';
import { localConfig } from '../../tools/demo.js';
import type { MailStack } from '../../tools/mail-stack.js';

const run = promisify(execFile);

/**
 * The shipped example config, edited by `edit`, written to a fresh folder with the data folder
 * inside it: an installation without mail servers, for commands that need none.
 */
export function exampleInstallation(edit?: (doc: Record<string, any>) => void): { dir: string; config: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tz-example-'));
  const doc = parseYaml(readFileSync(path.join(ROOT, 'config', 'taizhang.example.yaml'), 'utf8')) as Record<string, any>;
  doc.data_dir = path.join(dir, 'data');
  edit?.(doc);
  const config = path.join(dir, 'c.yaml');
  writeFileSync(config, stringify(doc));
  return { dir, config };
}
export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'taizhang');

export interface CliResult { code: number; stdout: string; stderr: string }

export interface Project {
  dir: string;
  configFile: string;
  dataDir: string;
  config: Record<string, any>;
  people: { name: string; department: string; email: string }[];
  office: string;
  mailbox: string;
  /** Runs `taizhang --config FILE ...args`. */
  cli(...args: string[]): Promise<CliResult>;
  /** `tick --now <now>`. */
  tick(now: string): Promise<CliResult>;
  status(period?: string): Promise<any>;
  /** Parsed messages in a user's folder, oldest first. */
  inbox(user: string, folder?: string): Promise<(ParsedMail & { uid: number; raw: Buffer })[]>;
  smtp: { host: string; port: number; password: string };
}

/** Writes a config for the stack; `edit` may change the document before it is written. */
export function makeProject(stack: MailStack, edit?: (doc: Record<string, any>) => void): Project {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'taizhang-test-'));
  const dataDir = path.join(dir, 'data');
  const config = localConfig(stack, dataDir) as Record<string, any>;
  config.mailbox.smtp.retry_delays_ms = [50];
  edit?.(config);
  const configFile = path.join(dir, 'taizhang.yaml');
  writeFileSync(configFile, stringify(config));
  const env = { ...process.env, TAIZHANG_MAIL_PASSWORD: stack.password, TAIZHANG_LOG_LEVEL: process.env.TAIZHANG_LOG_LEVEL ?? 'warn' };
  const cli = async (...args: string[]): Promise<CliResult> => {
    try {
      const { stdout, stderr } = await run(BIN, ['--config', configFile, ...args], { env, maxBuffer: 64 * 1024 * 1024 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };
  return {
    dir, configFile, dataDir, config,
    people: config.people, office: config.office[0].email, mailbox: config.mailbox.address,
    smtp: { host: stack.smtp.host, port: stack.smtp.port, password: stack.password },
    cli,
    tick: (now) => cli('tick', '--now', now),
    async status(period) {
      const r = await cli('status', '--json', ...(period ? ['--period', period] : []));
      if (r.code !== 0) throw new Error(`status failed: ${r.stderr}`);
      return JSON.parse(r.stdout);
    },
    async inbox(user, folder = 'INBOX') {
      const list = await stack.listMessages(user, folder);
      return Promise.all(list.map(async (m) => Object.assign(await simpleParser(m.source), { uid: m.uid, raw: m.source })));
    },
  };
}
