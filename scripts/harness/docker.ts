// The Docker tooling on this machine: whether an engine answers (a `docker`
// client alone is not enough), and which Compose command drives it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export type EngineCheck = { answers: true; version: string } | { answers: false; reason: string };

/** Asks the engine itself (`docker info`); the reason says why not when it does not answer. */
const DOCKER_INFO_TIMEOUT_MS = 10_000;

export async function dockerEngine(): Promise<EngineCheck> {
  try {
    const { stdout } = await execFileAsync('docker', ['info', '--format', '{{.ServerVersion}}'], {
      timeout: DOCKER_INFO_TIMEOUT_MS,
    });
    return { answers: true, version: stdout.trim() };
  } catch (error) {
    const { code, stderr, killed } = error as { code?: string | number; stderr?: string; killed?: boolean };
    if (code === 'ENOENT') return { answers: false, reason: 'the docker command is not installed' };
    if (killed)
      return { answers: false, reason: `\`docker info\` did not answer within ${DOCKER_INFO_TIMEOUT_MS / 1000} s` };
    const line = (stderr ?? '')
      .split('\n')
      .find((text) => text.trim() !== '')
      ?.trim();
    return { answers: false, reason: `\`docker info\`: ${line ?? String(error)}` };
  }
}

/** `docker compose` (the v2 plugin) when installed, else the standalone `docker-compose`. */
export async function composeCommand(): Promise<string[]> {
  try {
    await execFileAsync('docker', ['compose', 'version'], { timeout: 10_000 });
    return ['docker', 'compose'];
  } catch {
    try {
      await execFileAsync('docker-compose', ['version'], { timeout: 10_000 });
      return ['docker-compose'];
    } catch {
      throw new Error(
        'Neither `docker compose` nor `docker-compose` is installed; install the Compose plugin ' +
          '(https://docs.docker.com/compose/install/).',
      );
    }
  }
}
