// Test support for the DLQ service suites: the app built in-process on a
// lab's topics and listening on a free port, a small JSON client, and a
// writer of dead letters in the consumer's format (for tests that need
// records of known content without running the pipeline).
import { Writable } from 'node:stream';
import type { IHeaders } from 'kafkajs';
import { pino } from 'pino';
import { buildApp } from '../../services/dlq-service/app.ts';
import { loadConfig, serviceSpecs } from '../../services/lib/config.ts';
import { deadLetterHeaders, type DeadLetterContext } from '../../services/lib/dlq.ts';
import { createKafka, KEYED_PARTITIONER } from '../../services/lib/kafka.ts';
import { createLogger } from '../../services/lib/logger.ts';
import { readSchemaFile, Serde } from '../../services/lib/serde.ts';
import { valueSubject } from '../../services/lib/topics.ts';
import type { Lab } from '../../scripts/harness/lab.ts';

export const TOKEN = 'test-token-0123456789abcdef';

export interface Response<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export class DlqService {
  private constructor(
    readonly app: Awaited<ReturnType<typeof buildApp>>,
    readonly url: string,
    private readonly sink: { text: string },
  ) {}

  /** Every log line the app wrote (JSON text), to check what is and is not logged. */
  get logs(): string {
    return this.sink.text;
  }

  /**
   * Builds the app on the lab's topics (with its settings overridden by `env`)
   * and listens on a free port; unless `caughtUp` is false, waits until it
   * has read both topics to the end.
   */
  static async start(lab: Lab, env: Record<string, string> = {}, { caughtUp = true } = {}): Promise<DlqService> {
    const config = loadConfig(serviceSpecs['dlq-service'], { ...lab.env, DLQ_API_TOKEN: TOKEN, ...env });
    const sink = { text: '' };
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk, _encoding, done) {
          sink.text += chunk;
          done();
        },
      }),
    );
    const app = await buildApp({ config, logger });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const service = new DlqService(app, address, sink);
    if (caughtUp) await app.deadLetters.waitUntilCaughtUp(60_000);
    return service;
  }

  async request<T = any>(
    method: string,
    path: string,
    options: { body?: unknown; token?: string | null; headers?: Record<string, string> } = {},
  ): Promise<Response<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== null) headers.authorization = `Bearer ${options.token ?? TOKEN}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    let body: unknown = text;
    if (response.headers.get('content-type')?.includes('application/json')) body = JSON.parse(text);
    return { status: response.status, headers: response.headers, body: body as T };
  }

  get<T = any>(path: string): Promise<Response<T>> {
    return this.request<T>('GET', path, { token: null });
  }

  post<T = any>(path: string, body?: unknown, token?: string | null): Promise<Response<T>> {
    return this.request<T>('POST', path, { body, token });
  }

  /** Every item of GET /dlq (following nextCursor), newest first. */
  async listAll(query = '', pageSize = 100): Promise<any[]> {
    const items: any[] = [];
    let cursor: string | null = null;
    do {
      const page: Response = await this.get(
        `/dlq?limit=${pageSize}${query ? `&${query}` : ''}${cursor ? `&cursor=${cursor}` : ''}`,
      );
      if (page.status !== 200) throw new Error(`GET /dlq answered ${page.status}: ${JSON.stringify(page.body)}`);
      items.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    return items;
  }

  close(): Promise<void> {
    return this.app.close();
  }
}

export interface SyntheticDeadLetter {
  partition: number;
  key: string | null;
  /** Avro-encoded through the registry; `raw` bytes are written as they are instead. */
  order?: { orderId: string; product: string; price: number };
  raw?: Buffer;
  headers?: IHeaders;
  /** Omit to write a record without any dead-letter context. */
  context?: Partial<DeadLetterContext> & Pick<DeadLetterContext, 'failureClass' | 'error'>;
  /**
   * x-dlq-truncated and the original's size and hash, as the consumer adds them to a dead letter it cut to fit
   * the DLQ topic (written after the context: deadLetterHeaders drops x-dlq-* headers it is given).
   */
  truncation?: IHeaders;
}

/** Writes dead letters as the consumer does (in a transaction, headers from lib/dlq.ts); returns their ids in order. */
export async function writeDeadLetters(lab: Lab, records: SyntheticDeadLetter[]): Promise<string[]> {
  const logger = createLogger('test', 'warn');
  const serde = new Serde(lab.infra.registryUrl);
  const schemaId = await serde.register(await readSchemaFile('schemas/order.avsc'), valueSubject(lab.topics.orders));
  const kafka = createKafka({ brokers: lab.infra.brokers, clientId: `${lab.prefix}-dlq-writer`, logger });
  const producer = kafka.producer({
    ...KEYED_PARTITIONER,
    transactionalId: `${lab.prefix}-dlq-writer`,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  try {
    const messages = await Promise.all(
      records.map(async (record, i) => ({
        partition: record.partition,
        key: record.key,
        value: record.raw ?? (await serde.encode(schemaId, record.order)),
        headers: {
          ...(record.context === undefined
            ? record.headers
            : deadLetterHeaders(record.headers, {
                topic: lab.topics.orders,
                partition: record.partition,
                offset: String(1000 + i),
                timestamp: String(Date.now()),
                consumerGroup: lab.group,
                attempts: 1,
                failedAt: new Date(),
                ...record.context,
              })),
          ...record.truncation,
        },
      })),
    );
    const transaction = await producer.transaction();
    const metadata = await transaction.send({ topic: lab.topics.dlq, acks: -1, messages });
    await transaction.commit();
    // One record per partition per call keeps offsets easy to tell: base offset + position among that partition's
    // records.
    const next = new Map(metadata.map((m) => [m.partition, BigInt(m.baseOffset ?? '0')]));
    return records.map((record) => {
      const offset = next.get(record.partition)!;
      next.set(record.partition, offset + 1n);
      return `${record.partition}-${offset}`;
    });
  } finally {
    await producer.disconnect();
  }
}
