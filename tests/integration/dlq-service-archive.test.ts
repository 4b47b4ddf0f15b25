// The DLQ archive against the real broker: a restart resumes from the archive
// (records Kafka's retention has removed meanwhile stay listed, marked as no
// longer in Kafka, and replay from the archived bytes), the bounds drop the
// oldest, and an archive written from a previous incarnation of the topic (it
// read a partition further than the partition now goes) is rebuilt, saying why;
// while a rebuild reads the topic, text search answers 503 until it is done.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../scripts/harness/free-port.ts';
import { Lab, waitUntil } from '../../scripts/harness/lab.ts';
import { DlqArchive } from '../../services/dlq-service/index/dlq-archive.ts';
import { DlqService, writeDeadLetters } from './dlq-service-app.ts';

const invalid = (n: number) => ({
  partition: 0,
  key: `order-${n}`,
  order: { orderId: `order-${n}`, product: 'mouse', price: -n },
  context: { failureClass: 'invalid' as const, error: new Error(`price -${n} is not positive`) },
});

/** The log lines (pino JSON) whose msg matches. */
function logged(service: DlqService, msg: RegExp): Record<string, unknown>[] {
  return service.logs
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => msg.test(String(entry.msg)));
}

describe('DLQ archive', () => {
  const lab = new Lab();
  let ids: string[];

  before(async () => {
    await lab.start();
    ids = await writeDeadLetters(lab, [1, 2, 3, 4].map(invalid));
  });
  after(() => lab.stop());

  it('rebuilds from the topic when there is no archive yet, saying why', async () => {
    const service = await DlqService.start(lab);
    try {
      const [rebuilding] = logged(service, /^DLQ archive: rebuilding/);
      assert.equal(rebuilding?.why, 'no archive yet');
      assert.equal(logged(service, /^DLQ archive: indexed what the rebuild read$/).length, 1);
      assert.deepEqual((await service.listAll()).map((item) => item.id).sort(), [...ids].sort());
      const found = await service.request('GET', '/dlq?q=ORDER-3&reason=positive');
      assert.deepEqual(
        found.body.items.map((item: { id: string }) => item.id),
        [ids[2]],
        'text search answers once the rebuild has built its indexes',
      );
    } finally {
      await service.close();
    }
  });

  it('answers lists while a rebuild reads the topic, and text search only once it is done (503 LOADING)', async () => {
    // The registry unreachable: the rebuild waits to decode the first dead letter, so it cannot finish.
    const registry = `http://127.0.0.1:${await freePort()}`;
    const env = { SCHEMA_REGISTRY_URL: registry, DLQ_DB_PATH: `${lab.dlqArchive}-unfinished` };
    const service = await DlqService.start(lab, env, { caughtUp: false });
    try {
      for (const path of ['/dlq?q=order', '/dlq/stats?reason=positive']) {
        const response = await service.request('GET', path);
        assert.equal(response.status, 503, path);
        assert.equal(response.body.code, 'LOADING');
        assert.match(response.body.message, /being rebuilt from .*text search \(q, reason\) answers once/);
        assert.equal(response.headers.get('retry-after'), '5');
      }
      assert.equal((await service.request('GET', '/dlq?product=mouse')).status, 200);
      assert.equal((await service.request('GET', '/ready', { token: null })).status, 503);
    } finally {
      await service.close();
    }
  });

  it('resumes after a restart: what retention removed meanwhile stays, marked, and replays', async () => {
    // Kafka's retention, as it would act on old segments: the first two records go.
    await lab.admin.fetchTopicMetadata({ topics: [lab.topics.dlq] });
    await lab.admin.deleteTopicRecords({ topic: lab.topics.dlq, partitions: [{ partition: 0, offset: '2' }] });
    const later = await writeDeadLetters(lab, [invalid(5)]);
    const service = await DlqService.start(lab);
    try {
      const [resuming] = logged(service, /^DLQ archive: resuming/);
      assert.equal(resuming?.records, 4, 'the archive was kept, not rebuilt');
      const items = await service.listAll();
      assert.deepEqual(items.map((item) => item.id).sort(), [...ids, ...later].sort());
      const gone = items.filter((item) => !item.inKafka).map((item) => item.id);
      assert.deepEqual(gone.sort(), ids.slice(0, 2).sort(), 'exactly the records before the new first offset');

      const detail = await service.get(`/dlq/${ids[0]}`);
      assert.equal(detail.body.inKafka, false);
      assert.equal(detail.body.order.orderId, 'order-1');
      const replay = await service.post(`/dlq/${ids[0]}/replay`);
      assert.equal(replay.status, 200, JSON.stringify(replay.body));
      const replayed = (await lab.readAll(lab.topics.orders)).map(({ message }) => message.key?.toString());
      assert.deepEqual(replayed, ['order-1'], 'replayed from the archived key and value');
      await waitUntil(
        'the archive to count the replay',
        async () => (await service.get('/dlq/stats')).body.replayed === 1,
        10_000,
      );
      assert.equal((await service.get('/dlq?replayed=true')).body.items[0]?.id, ids[0]);
    } finally {
      await service.close();
    }
  });

  it('keeps within DLQ_ARCHIVE_MAX_RECORDS, dropping the oldest', async () => {
    const service = await DlqService.start(lab, { DLQ_ARCHIVE_MAX_RECORDS: '3' });
    try {
      await waitUntil(
        'the archive to drop the oldest',
        async () => (await service.get('/dlq')).body.total === 3,
        10_000,
      );
      const kept = (await service.listAll()).map((item) => item.id);
      assert.deepEqual(kept.sort(), [ids[2], ids[3], ...(await lateIds())].sort());
    } finally {
      await service.close();
    }

    async function lateIds(): Promise<string[]> {
      const all = (await lab.readAll(lab.topics.dlq)).map(({ partition, message }) => `${partition}-${message.offset}`);
      return all.filter((id) => !ids.includes(id));
    }
  });

  it('rebuilds an archive written from an earlier incarnation of the topic, saying why', async () => {
    // What a topic deleted and created again leaves: an archive that read a partition further than it now goes.
    const [end] = (await lab.admin.fetchTopicOffsets(lab.topics.dlq)).filter(({ partition }) => partition === 0);
    const archive = new DlqArchive(lab.dlqArchive);
    archive.addBatch(0, [], BigInt(end!.high) + 1000n);
    archive.close();
    const service = await DlqService.start(lab);
    try {
      const [rebuilding] = logged(service, /^DLQ archive: rebuilding/);
      assert.equal(
        rebuilding?.why,
        `it read partition 0 to offset ${BigInt(end!.high) + 1000n}, which now ends at offset ${end!.high}: ` +
          'the topic was created again',
      );
      const now = (await lab.readAll(lab.topics.dlq)).map(({ partition, message }) => `${partition}-${message.offset}`);
      assert.deepEqual((await service.listAll()).map((item) => item.id).sort(), now.sort(), 'what the topic holds now');
    } finally {
      await service.close();
    }
  });
});
