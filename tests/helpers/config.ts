/** Config tests' shared pieces: the shipped example as a document, and the problems a config is refused with. */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { parseConfig, type LoadOptions } from '../../src/app/config.js';
import { parseYaml } from '../../src/app/yaml.js';
import { TaizhangError } from '../../src/errors.js';

export const exampleConfig = (): any => parseYaml(readFileSync('config/taizhang.example.yaml', 'utf8'));

/** The problems `doc` is refused with (CONFIG_INVALID); fails the test when it is accepted. */
export function configProblems(doc: unknown, env: NodeJS.ProcessEnv, options?: LoadOptions): string[] {
  try {
    parseConfig(doc, 'x.yaml', env, options);
  } catch (err) {
    expect(err).toBeInstanceOf(TaizhangError);
    expect((err as TaizhangError).code).toBe('CONFIG_INVALID');
    return (err as TaizhangError).details as string[];
  }
  throw new Error('config was accepted');
}

/** Makes the document's single `ledger:` the `main` entry of `ledgers:`, followed by `others`. */
export function addLedgers(doc: Record<string, any>, ...others: Record<string, unknown>[]): void {
  const seed = doc.ledger;
  delete doc.ledger;
  doc.ledgers = [{ id: 'main', ...seed }, ...others];
}
