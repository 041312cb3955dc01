import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { errorMessage, TaizhangError } from '../errors.js';
import { configSchema, type Config } from './config-schema.js';
import { parseYamlText } from './yaml.js';

export type { Config, ConfigLedger, Folders } from './config-schema.js';

export interface LoadOptions {
  /**
   * The mailbox's passwords are needed (default). `status` reads only the local state: without
   * them an unset `${NAME}` in mailbox.imap/smtp.password is no problem.
   */
  mail?: boolean;
}

const PASSWORDS = new Set(['mailbox.imap.password', 'mailbox.smtp.password']);

/** `people[2].email` */
function pathText(path: readonly PropertyKey[]): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i === 0 ? '' : '.'}${String(k)}`)).join('');
}

/**
 * Replaces `${NAME}` in every string value by that environment variable. A missing one is a
 * problem, pushed on `problems` with the value's path, unless `optional` says the path may go
 * without (it is then empty).
 */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, problems: string[], optional: (at: string) => boolean = () => false, at = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined && !optional(at)) problems.push(`${at || '(root)'}: environment variable ${name} is not set`);
      return v ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, problems, optional, `${at}[${i}]`));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, env, problems, optional, at ? `${at}.${k}` : k);
    return out;
  }
  return value;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** One line per problem, `path: message`; an unknown key's issue holds a line per key. */
function issueLines(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((iss) => {
    if (iss.code === 'unrecognized_keys') {
      const messages = iss.message.split('\n');
      return iss.keys.map((k, i) => `${pathText([...iss.path, k])}: ${messages[i] ?? 'unknown key'}`);
    }
    return [`${pathText(iss.path) || '(root)'}: ${iss.message}`];
  });
}

/** Reads, substitutes, validates and freezes the config file. Throws CONFIG_INVALID listing every problem. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TaizhangError('CONFIG_INVALID', `cannot read config file ${file}: ${errorMessage(err)}`);
  }
  let doc: unknown;
  try {
    doc = parseYamlText(text);
  } catch (err) {
    throw new TaizhangError('CONFIG_INVALID', `${file}: not valid YAML: ${errorMessage(err)}`);
  }
  return parseConfig(doc, file, env, options);
}

/** Validates a parsed document (see loadConfig). */
export function parseConfig(doc: unknown, file: string, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): Config {
  const mail = options.mail ?? true;
  if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc))) {
    throw new TaizhangError('CONFIG_INVALID', `${file}: the top level must be a mapping`);
  }
  const envProblems: string[] = [];
  const root = substituteEnv(doc ?? {}, env, envProblems, (at) => !mail && PASSWORDS.has(at));
  const parsed = configSchema(file, { mail }).safeParse(root);
  // A value whose variable is missing is also empty: its path's first problem is the variable.
  const told = new Set(envProblems.map((p) => p.slice(0, p.indexOf(': '))));
  const problems = [
    ...envProblems,
    ...(parsed.success ? [] : issueLines(parsed.error.issues).filter((p) => !told.has(p.slice(0, p.indexOf(': '))))),
  ];
  if (problems.length > 0 || !parsed.success) {
    throw new TaizhangError('CONFIG_INVALID', `${file}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`, { details: problems });
  }
  return deepFreeze(parsed.data);
}
