// Loaded with --import into every Node service a benchmark starts:
// - BENCH_KAFKAJS_DIR=<a kafkajs package directory> makes `import 'kafkajs'`
//   load that copy instead of the project's (to compare kafkajs versions
//   without touching node_modules);
// - at exit, one JSON line on stderr says which kafkajs was loaded and how
//   much CPU the process used, for the benchmark to read from the log.
import * as nodeModule from 'node:module';
import { pathToFileURL } from 'node:url';

const override = process.env.BENCH_KAFKAJS_DIR;
let kafkajsUrl: string | undefined;

// module.registerHooks arrived in Node 22.15 / 23.5; the project runs on Node 24.
const { registerHooks } = nodeModule as Partial<typeof nodeModule>;
if (registerHooks === undefined && override) {
  throw new Error(`BENCH_KAFKAJS_DIR needs module.registerHooks (Node >= 22.15); this is Node ${process.version}`);
}
registerHooks?.({
  resolve(specifier, context, nextResolve) {
    if (specifier !== 'kafkajs') return nextResolve(specifier, context);
    if (override) {
      kafkajsUrl = pathToFileURL(`${override}/index.js`).href;
      return { url: kafkajsUrl, format: 'commonjs', shortCircuit: true };
    }
    const resolved = nextResolve(specifier, context);
    kafkajsUrl = resolved.url;
    return resolved;
  },
});

process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  // stderr is synchronous for pipes and files on Linux, so the line is written before the process ends.
  process.stderr.write(
    `${JSON.stringify({
      msg: 'bench-usage',
      kafkajs: kafkajsUrl,
      cpuUserMs: user / 1000,
      cpuSystemMs: system / 1000,
    })}\n`,
  );
});
