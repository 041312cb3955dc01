import yaml from 'js-yaml';

/**
 * YAML as the config uses it: the YAML 1.2 core schema (so `2020-06-20` stays text, not a
 * Date). js-yaml parses a large config in a quarter of the time and memory of a full
 * document model.
 */
export function parseYaml(text: string): unknown {
  return yaml.load(text, { schema: yaml.CORE_SCHEMA });
}

export function stringifyYaml(value: unknown): string {
  return yaml.dump(value, { schema: yaml.CORE_SCHEMA, lineWidth: -1, noRefs: true });
}
