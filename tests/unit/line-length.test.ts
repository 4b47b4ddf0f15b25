// Source lines are at most 120 characters: Biome formats code to that width,
// and the strings and comments it leaves alone are wrapped by hand, so a
// diff reads without scrolling.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const MAX = 120;
const root = new URL('../../', import.meta.url);

describe('line length', () => {
  it(`keeps every line of the tracked TypeScript and JavaScript within ${MAX} characters`, () => {
    const files = execFileSync('git', ['ls-files', '*.ts', '*.js'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter((file) => file !== '');
    assert.ok(files.length > 100, `git ls-files found only ${files.length} files`);
    const long = files.flatMap((file) =>
      readFileSync(new URL(file, root), 'utf8')
        .split('\n')
        .flatMap((line, index) => ([...line].length > MAX ? [`${file}:${index + 1} (${[...line].length})`] : [])),
    );
    assert.deepEqual(long, [], `lines over ${MAX} characters`);
  });
});
