// The local lab's supervisor restarts a service that exits unasked (as
// Compose's restart policy does), and stops it, and itself, on SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

// Exits 3 on its first run (a crash); on the next it runs until SIGTERM.
const SERVICE = `
import { existsSync, writeFileSync } from 'node:fs';
const marker = process.argv[2];
if (!existsSync(marker)) { writeFileSync(marker, 'crashed once'); process.exit(3); }
process.on('SIGTERM', () => process.exit(0));
console.log('up again');
setInterval(() => undefined, 1000);
`;

describe('scripts/supervise.ts', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'supervise-'));
    await writeFile(join(dir, 'service.mjs'), SERVICE);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('restarts a service that exited non-zero, then passes SIGTERM on and exits with its code', async () => {
    const supervisor = spawn(process.execPath, [
      '--import',
      'tsx',
      'scripts/supervise.ts',
      join(dir, 'service.mjs'),
      join(dir, 'marker'),
    ]);
    let output = '';
    supervisor.stdout.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => supervisor.once('exit', resolve));
    const deadline = Date.now() + 20_000;
    while (!output.includes('up again')) {
      assert.ok(Date.now() < deadline, `the service did not come up again: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const restart = JSON.parse(output.split('\n').find((line) => line.includes('restarting'))!);
    assert.equal(restart.exitCode, 3);
    supervisor.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
