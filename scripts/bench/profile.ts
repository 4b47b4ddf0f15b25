// Reads a V8 .cpuprofile (node --cpu-prof) and sums self time per function,
// the view that says where a process spends its CPU.
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './lab.ts';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  functionName: string;
  location: string;
  selfMs: number;
  percent: number;
}

export interface ProfileSummary {
  label: string;
  file: string;
  totalMs: number;
  idlePercent: number;
  top: ProfileRow[];
  /** Self time by component; native and Node-internal frames count for the code that called them. */
  components: { name: string; selfMs: number; percent: number }[];
}

const SPECIAL = new Map([
  ['(idle)', 'idle (waiting on the network and the broker)'],
  ['(garbage collector)', 'garbage collection'],
  ['(program)', 'V8 and Node internals'],
]);

const LIBRARIES: [RegExp, string][] = [
  [/\/node_modules\/kafkajs\//, 'kafkajs'],
  [/\/node_modules\/(avsc|@kafkajs\/confluent-schema-registry)\//, 'Avro and the registry client'],
  [/\/node_modules\/(prom-client|pino|sonic-boom|thread-stream)\//, 'metrics and logging'],
  [/\/node_modules\/(tsx|esbuild|get-tsconfig)\//, 'start-up: loading and compiling modules'],
  [
    /\/node_modules\/(fastify|@fastify\/[^/]+|fast-json-stringify|find-my-way|avvio|ajv|fast-uri|light-my-request)\//,
    'Fastify',
  ],
  [/\/node_modules\//, 'other libraries'],
];

/** The component a frame belongs to; undefined for native and Node-internal frames, which count for their caller. */
function componentOf(url: string): string | undefined {
  if (url.startsWith('node:internal/modules') || url.startsWith('node:internal/main'))
    return 'start-up: loading and compiling modules';
  if (url === '' || url.startsWith('node:')) return undefined;
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  for (const [pattern, name] of LIBRARIES) if (pattern.test(path)) return name;
  if (path.startsWith(REPO_ROOT)) return `project code (${relative(REPO_ROOT, path).split('/')[0]}/)`;
  return undefined;
}

function location(url: string, line: number): string {
  if (url === '') return '(native)';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const shown = path.includes('/node_modules/')
    ? path.slice(path.lastIndexOf('/node_modules/') + 14)
    : path.startsWith(REPO_ROOT)
      ? relative(REPO_ROOT, path)
      : path;
  return `${shown}:${line + 1}`;
}

export async function summarizeProfile(file: string, label: string, topCount = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const selfMicros = new Map<number, number>();
  for (const [i, nodeId] of profile.samples.entries()) {
    selfMicros.set(nodeId, (selfMicros.get(nodeId) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const byFunction = new Map<string, ProfileRow>();
  let total = 0;
  for (const node of profile.nodes) {
    const micros = selfMicros.get(node.id) ?? 0;
    total += micros;
    const { functionName, url, lineNumber } = node.callFrame;
    const row = {
      functionName: functionName || '(anonymous)',
      location: location(url, lineNumber),
      selfMs: 0,
      percent: 0,
    };
    const key = `${row.functionName} ${row.location}`;
    const entry = byFunction.get(key) ?? row;
    entry.selfMs += micros / 1000;
    byFunction.set(key, entry);
  }
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const components = new Map<string, number>();
  for (const node of profile.nodes) {
    const micros = selfMicros.get(node.id) ?? 0;
    if (micros === 0) continue;
    let name = SPECIAL.get(node.callFrame.functionName);
    for (let id: number | undefined = node.id; name === undefined && id !== undefined; id = parent.get(id)) {
      name = componentOf(byId.get(id)!.callFrame.url);
    }
    name ??= 'V8 and Node internals';
    components.set(name, (components.get(name) ?? 0) + micros / 1000);
  }
  const rows = [...byFunction.values()].sort((a, b) => b.selfMs - a.selfMs);
  for (const row of rows) row.percent = total === 0 ? 0 : (row.selfMs * 1000 * 100) / total;
  return {
    label,
    file,
    totalMs: total / 1000,
    idlePercent: rows.find((row) => row.functionName === '(idle)')?.percent ?? 0,
    top: rows.slice(0, topCount),
    components: [...components]
      .filter(([, selfMs]) => selfMs >= 1)
      .map(([name, selfMs]) => ({ name, selfMs, percent: total === 0 ? 0 : (selfMs * 1000 * 100) / total }))
      .sort((a, b) => b.selfMs - a.selfMs),
  };
}
