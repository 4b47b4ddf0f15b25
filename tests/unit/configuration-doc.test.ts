// docs/configuration.md against services/lib/config.ts: the table must name
// every variable a service reads, no variable none reads, the services that
// read it, and each default the specs give, so the doc cannot drift from the
// code silently.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { serviceSpecs } from '../../services/lib/config.ts';

const DOC = 'docs/configuration.md';
const docText = readFileSync(new URL(`../../${DOC}`, import.meta.url), 'utf8');
const services = Object.keys(serviceSpecs).sort();

interface Row {
  line: number;
  name: string;
  defaults: string;
  readBy: string;
}

/** The rows of the table whose header starts with `| variable | default | read by |`. */
function variableTable(markdown: string): Row[] {
  const lines = markdown.split('\n');
  const header = lines.findIndex((line) => /^\|\s*variable\s*\|\s*default\s*\|\s*read by\s*\|/.test(line));
  assert.ok(header >= 0, `${DOC} has no table with the columns variable | default | read by`);
  const rows: Row[] = [];
  for (let i = header + 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    const cells = lines[i]!.split('|')
      .slice(1, -1)
      .map((cell) => cell.trim());
    const name = /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[0] ?? '')?.[1];
    assert.ok(name, `${DOC}:${i + 1}: the first column must be one variable in backticks, got "${cells[0]}"`);
    rows.push({ line: i + 1, name, defaults: cells[1] ?? '', readBy: cells[2] ?? '' });
  }
  return rows;
}

/** Text in backticks within a cell. */
function quoted(cell: string): string[] {
  return [...cell.matchAll(/`([^`]*)`/g)].map((match) => match[1]!);
}

/** Per variable: for each service that reads it, its validator. */
function specsByVariable(): Map<string, Map<string, object>> {
  const byVariable = new Map<string, Map<string, object>>();
  for (const [service, spec] of Object.entries(serviceSpecs)) {
    for (const [name, validator] of Object.entries(spec)) {
      if (!byVariable.has(name)) byVariable.set(name, new Map());
      byVariable.get(name)!.set(service, validator);
    }
  }
  return byVariable;
}

const rows = variableTable(docText);
const specs = specsByVariable();

describe(DOC, () => {
  it('lists every variable once', () => {
    const names = rows.map((row) => row.name);
    const twice = names.filter((name, i) => names.indexOf(name) !== i);
    assert.deepEqual(twice, [], `listed more than once: ${twice.join(', ')}`);
    const missing = [...specs.keys()].filter((name) => !names.includes(name));
    assert.deepEqual(missing, [], `read by a service but missing from ${DOC}: ${missing.join(', ')}`);
  });

  it('lists no variable that no service reads', () => {
    const unknown = rows.filter((row) => !specs.has(row.name)).map((row) => `${row.name} (line ${row.line})`);
    assert.deepEqual(unknown, [], `in ${DOC} but in no serviceSpecs entry: ${unknown.join(', ')}`);
  });

  for (const row of rows) {
    const bySpec = specs.get(row.name);
    if (bySpec === undefined) continue;
    const where = `${DOC}:${row.line}`;

    it(`${row.name}: names the services that read it`, () => {
      const documented = row.readBy === 'all' ? services : quoted(row.readBy).sort();
      assert.deepEqual(documented, [...bySpec.keys()].sort(), `${where}: "read by" of ${row.name}`);
    });

    it(`${row.name}: shows the default of every service that reads it, and no other`, () => {
      const shown = quoted(row.defaults);
      const expected = new Set<string>();
      for (const [service, validator] of bySpec) {
        if (!('default' in validator)) {
          assert.equal(row.defaults, 'required', `${where}: ${row.name} has no default for ${service}`);
        } else if (validator.default !== undefined) {
          expected.add(String(validator.default));
        }
      }
      for (const value of expected) {
        assert.ok(shown.includes(value), `${where}: ${row.name} should show \`${value}\`, shows "${row.defaults}"`);
      }
      const stale = shown.filter((value) => !expected.has(value));
      const listed = stale.map((value) => `\`${value}\``).join(', ');
      assert.deepEqual(stale, [], `${where}: ${row.name} has no default ${listed}`);
    });
  }
});
