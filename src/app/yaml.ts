import yaml from 'js-yaml';

/**
 * YAML as tests and tools edit documents: the YAML 1.2 core schema (so `2020-06-20` stays
 * text, not a Date). js-yaml parses a large config in a quarter of the time and memory of a
 * full document model.
 */
export function parseYaml(text: string): unknown {
  return yaml.load(text, { schema: yaml.CORE_SCHEMA });
}

export function stringifyYaml(value: unknown): string {
  return yaml.dump(value, { schema: yaml.CORE_SCHEMA, lineWidth: -1, noRefs: true });
}

/**
 * Every scalar stays the text it was written as (`due: 10.30` is "10.30", not 10.3); only
 * `~`, `null` and an empty value are null. The config schema turns text into numbers and
 * booleans where a field wants one.
 */
const NULL = new yaml.Type('tag:yaml.org,2002:null', {
  kind: 'scalar',
  resolve: (data: string | null) => data === null || /^(~|null|Null|NULL)?$/.test(data),
  construct: () => null,
});
const TEXT_SCHEMA = yaml.FAILSAFE_SCHEMA.extend({ implicit: [NULL] });

/** A YAML syntax error, told without showing the source (a password may be on that line). */
export class YamlSyntaxError extends Error {
  override name = 'YamlSyntaxError';
}

/** Parses a config file's text with TEXT_SCHEMA; throws YamlSyntaxError. */
export function parseYamlText(text: string): unknown {
  try {
    return yaml.load(text, { schema: TEXT_SCHEMA });
  } catch (err) {
    if (!(err instanceof yaml.YAMLException)) throw err;
    const where = err.mark ? ` at line ${err.mark.line + 1}, column ${err.mark.column + 1}` : '';
    throw new YamlSyntaxError(`${redactReason(err.reason, text)}${where}`);
  }
}

const SECRET_KEY = /(password|secret)[\w-]*["']?\s*:/i;
/** The parts of js-yaml's reasons copied from the source: "alias", !<tag>, ": tag name". */
const QUOTED = /"([^"]+)"|!<([^>]+)>|: (.+)$/g;

/**
 * js-yaml's reason without the source text it quotes when that text stands on a line naming a
 * password or secret (`password: *abc` fails as `unidentified alias "abc"`). Its excerpt of the
 * source (err.message) is never used.
 */
function redactReason(reason: string, text: string): string {
  const secretLines = text.split(/\r?\n/).filter((l) => SECRET_KEY.test(l));
  if (secretLines.length === 0) return reason;
  return reason.replace(QUOTED, (whole: string, ...groups: (string | undefined)[]) => {
    const quoted = groups.slice(0, 3).find((g) => g !== undefined) ?? '';
    return secretLines.some((l) => l.includes(quoted)) ? whole.replace(quoted, '***') : whole;
  });
}
