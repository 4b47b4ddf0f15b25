// What a benchmark hands back, and bench/RESULTS.md rendered from it.
import { formatCount, formatLoad, formatNumber, type MachineFacts, type QuietWait } from './measure.ts';
import type { ProfileSummary } from './profile.ts';

export interface Table {
  headers: string[];
  rows: (string | number)[][];
}

export interface TargetCheck {
  figure: string;
  target: string;
  measured: string;
  /** undefined: there is no target for this figure (shown for comparison). */
  met: boolean | undefined;
}

export interface Section {
  /** Short id used by --only (producer, consumer, ...). */
  id: string;
  title: string;
  /** What is measured and how, in a sentence or three. */
  method: string;
  tables: Table[];
  commands: string[];
  notes: string[];
  targets: TargetCheck[];
  profiles: ProfileSummary[];
}

export function section(id: string, title: string, method: string): Section {
  return { id, title, method, tables: [], commands: [], notes: [], targets: [], profiles: [] };
}

export function markdownTable({ headers, rows }: Table): string {
  const escapeCell = (cell: string | number) => String(cell).replaceAll('|', '\\|');
  return [
    `| ${headers.map(escapeCell).join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
  ].join('\n');
}

export interface RunInfo {
  startedAt: Date;
  finishedAt: Date;
  smoke: boolean;
  command: string;
  machine: MachineFacts;
  quiet: QuietWait | undefined;
  loadAtStart: [number, number, number];
  loadAtEnd: [number, number, number];
  brokers: string;
  registryUrl: string;
  /** Benchmarks that failed: id and message. */
  failures: { id: string; message: string }[];
}

export function renderResults(run: RunInfo, sections: Section[]): string {
  const { machine } = run;
  const minutes = (run.finishedAt.getTime() - run.startedAt.getTime()) / 60_000;
  const quietLine =
    run.quiet === undefined
      ? 'no wait for a quiet machine (--no-wait)'
      : run.quiet.quiet
        ? `quiet after waiting ${formatNumber(run.quiet.waitedMs / 60_000, 1)} min`
        : `**the machine never became quiet** (waited ${formatNumber(run.quiet.waitedMs / 60_000, 1)} min); ` +
          'figures were taken under the load shown';
  const targets = sections.flatMap((s) => s.targets);
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`${run.command}\` on ${run.startedAt.toISOString()}; the run took ${formatNumber(minutes, 1)} min.` +
      (run.smoke ? ' **Smoke run**: tiny inputs, the figures mean nothing.' : ''),
    'Every figure below was measured in this one run, side by side, on the same broker.',
    '',
    '## Machine',
    '',
    markdownTable({
      headers: ['', ''],
      rows: [
        ['CPU', `${machine.cores} × ${machine.cpuModel}`],
        ['memory', `${formatNumber(machine.memoryGiB, 1)} GiB`],
        ['OS', machine.os],
        ['Node', machine.node],
        ['Java', machine.java],
        ['Kafka', `${machine.kafka} (local stack, one broker, ${machine.kafkaMode}) at ${run.brokers}`],
        ['schema registry', `${machine.registry} at ${run.registryUrl}`],
        ['kafkajs', machine.kafkajs],
        ['load average at start (1 / 5 / 15 min)', `${formatLoad(run.loadAtStart)} (${quietLine})`],
        ['load average at end', formatLoad(run.loadAtEnd)],
      ],
    }),
    '',
    '## Targets',
    '',
    markdownTable({
      headers: ['figure', 'target', 'measured', 'met'],
      rows: targets.map((t) => [t.figure, t.target, t.measured, t.met === undefined ? '–' : t.met ? 'yes' : '**no**']),
    }),
    '',
  ];
  if (run.failures.length > 0) {
    lines.push(
      '## Benchmarks that failed',
      '',
      ...run.failures.map((f) => `- ${f.id}: ${f.message.split('\n')[0]}`),
      '',
    );
  }
  for (const s of sections) {
    lines.push(`## ${s.title}`, '', s.method, '');
    for (const table of s.tables) lines.push(markdownTable(table), '');
    for (const note of s.notes) lines.push(`- ${note}`);
    if (s.notes.length > 0) lines.push('');
    for (const profile of s.profiles) {
      lines.push(
        `CPU profile of ${profile.label} (\`node --cpu-prof\`): ${formatCount(profile.totalMs)} ms sampled, ` +
          `${formatNumber(profile.idlePercent, 1)} % idle. By component (native and Node-internal work counted for ` +
          `the code that asked for ` +
          'it, e.g. socket writes for kafkajs):',
        '',
        markdownTable({
          headers: ['component', 'self ms', 'share'],
          rows: profile.components.map((c) => [c.name, formatCount(c.selfMs), `${formatNumber(c.percent, 1)} %`]),
        }),
        '',
        'Top functions by self time:',
        '',
        markdownTable({
          headers: ['self ms', 'share', 'function', 'where'],
          rows: profile.top.map((row) => [
            formatCount(row.selfMs),
            `${formatNumber(row.percent, 1)} %`,
            row.functionName,
            row.location,
          ]),
        }),
        '',
      );
    }
    if (s.commands.length > 0) lines.push('Commands:', '', '```sh', ...s.commands, '```', '');
  }
  return `${lines.join('\n')}\n`;
}
