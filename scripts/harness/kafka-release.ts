// Which Kafka the lab runs, from KAFKA_VERSION: 3.9 in ZooKeeper mode (the
// default, as the lab is specified) or 4.x in KRaft mode (one combined broker
// and controller, no ZooKeeper). The two differ in what Maven fetches, how the
// broker logs (Kafka 3.9 through reload4j, 4.x through log4j2) and how it
// starts; the local stack, Compose and the benchmarks' Java tools all ask here.

export type KafkaMode = 'zookeeper' | 'kraft';

export interface KafkaRelease {
  version: string;
  mode: KafkaMode;
}

export const DEFAULT_KAFKA_VERSION = '3.9.1';
/** The 4.x release the lab is tested on (CI runs it beside the default). */
export const TESTED_KRAFT_VERSION = '4.1.1';

/** The release KAFKA_VERSION names (unset or empty: the default); a config error names the variable. */
export function kafkaRelease(value: string | undefined = process.env.KAFKA_VERSION): KafkaRelease {
  const version = value?.trim() || DEFAULT_KAFKA_VERSION;
  if (/^3\.9\.\d+$/.test(version)) return { version, mode: 'zookeeper' };
  if (/^4\.\d+\.\d+$/.test(version)) return { version, mode: 'kraft' };
  throw new Error(
    `KAFKA_VERSION must be 3.9.<patch> (ZooKeeper mode; the default is ${DEFAULT_KAFKA_VERSION}) or ` +
      `4.<minor>.<patch> (KRaft mode, e.g. ${TESTED_KRAFT_VERSION}); got "${value}"`,
  );
}

export function describeRelease({ version, mode }: KafkaRelease): string {
  return `Kafka ${version} (${mode === 'kraft' ? 'KRaft' : 'ZooKeeper'} mode)`;
}

/** Maven coordinates of the broker, its tools and the log binding its POM leaves out. */
export function kafkaArtifacts({ version, mode }: KafkaRelease): string[] {
  const logBinding =
    mode === 'zookeeper'
      ? ['org.slf4j:slf4j-reload4j:1.7.36']
      : [
          'org.apache.logging.log4j:log4j-slf4j2-impl:2.24.3',
          'org.apache.logging.log4j:log4j-core:2.24.3',
          // kafka-clients' POM asks for slf4j-api 1.7, which cannot bind to log4j2's slf4j2 provider.
          'org.slf4j:slf4j-api:2.0.17',
        ];
  return [`org.apache.kafka:kafka_2.13:${version}`, `org.apache.kafka:kafka-tools:${version}`, ...logBinding];
}

/**
 * A logging configuration for a Kafka JVM (the broker or one of its tools) and
 * the system property that points the JVM at it: everything at `level` and
 * above, to stdout or stderr.
 */
export function kafkaLogging(
  { mode }: KafkaRelease,
  file: string,
  { level, target }: { level: 'INFO' | 'WARN'; target: 'stdout' | 'stderr' },
): { file: string; text: string; jvmArg: string } {
  const pattern = '[%d] %p %m (%c)%n';
  if (mode === 'zookeeper') {
    return {
      file,
      text: [
        `log4j.rootLogger=${level}, console`,
        'log4j.appender.console=org.apache.log4j.ConsoleAppender',
        `log4j.appender.console.Target=System.${target === 'stdout' ? 'out' : 'err'}`,
        'log4j.appender.console.layout=org.apache.log4j.PatternLayout',
        `log4j.appender.console.layout.ConversionPattern=${pattern}`,
        '',
      ].join('\n'),
      jvmArg: `-Dlog4j.configuration=file:${file}`,
    };
  }
  return {
    file,
    text: [
      'appender.console.type=Console',
      'appender.console.name=console',
      `appender.console.target=SYSTEM_${target === 'stdout' ? 'OUT' : 'ERR'}`,
      'appender.console.layout.type=PatternLayout',
      `appender.console.layout.pattern=${pattern}`,
      `rootLogger.level=${level}`,
      'rootLogger.appenderRef.console.ref=console',
      '',
    ].join('\n'),
    jvmArg: `-Dlog4j2.configurationFile=${file}`,
  };
}

/**
 * A new cluster id for `kafka-storage format`: 16 random bytes, base64url
 * without padding, as Kafka's Uuid.randomUuid makes them (never starting with
 * "-", which a command line would read as an option).
 */
export function newClusterId(randomBytes: (size: number) => Buffer): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
