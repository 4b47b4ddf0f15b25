// How the consumer starts and ends when it cannot work: a COMMIT_MAX_BYTES
// the output topics cannot take is refused at start, naming the variable; and
// when kafkajs gives up for good (here: another application holds the group
// with another assignment protocol), the consumer says so and exits non-zero,
// so a restart policy brings it back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs, { type Consumer } from 'kafkajs';
import { createKafka } from '../../services/lib/kafka.ts';
import { createLogger } from '../../services/lib/logger.ts';
import { Lab, waitUntil } from '../../scripts/harness/lab.ts';

const { AssignerProtocol } = kafkajs;

describe('consumer start and end', () => {
  const lab = new Lab();
  let foreign: Consumer | undefined;
  before(() => lab.start());
  after(async () => {
    await foreign?.disconnect();
    await lab.stop();
  });

  it('refuses a COMMIT_MAX_BYTES larger than a record batch its topics accept, naming the variable', async () => {
    const consumer = lab.startConsumer({ COMMIT_MAX_BYTES: '1048576' });
    const { code } = await consumer.exited;
    assert.equal(code, 1);
    const [fatal] = consumer.logs(/Invalid configuration/);
    assert.match(String(fatal?.msg), /COMMIT_MAX_BYTES: 1048576 does not fit: .*max\.message\.bytes.*set at most \d+/);
  });

  it('exits non-zero when kafkajs gives up on the group', async () => {
    foreign = createKafka({
      brokers: lab.infra.brokers,
      clientId: 'foreign-app',
      logger: createLogger('foreign', 'silent'),
    }).consumer({
      groupId: lab.group,
      partitionAssigners: [
        () => ({
          name: 'ForeignAssigner',
          version: 1,
          protocol: ({ topics }) => ({
            name: 'ForeignAssigner',
            metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
          }),
          assign: async ({ members }) =>
            members.map(({ memberId }) => ({
              memberId,
              memberAssignment: AssignerProtocol.MemberAssignment.encode({
                version: 1,
                assignment: {},
                userData: Buffer.alloc(0),
              }),
            })),
        }),
      ],
    });
    let joined = false;
    foreign.on(foreign.events.GROUP_JOIN, () => (joined = true));
    await foreign.connect();
    await foreign.subscribe({ topics: [lab.topics.orders] });
    await foreign.run({ eachMessage: async () => undefined });
    await waitUntil('the foreign application to hold the group', () => joined);

    const consumer = lab.startConsumer();
    let exit: { code: number | null } | undefined;
    void consumer.exited.then((result) => (exit = result));
    await waitUntil('the consumer to exit', () => exit, 60_000).catch(consumer.rethrowWithOutput);
    assert.notEqual(exit?.code, 0);
    assert.equal(consumer.logs(/kafkajs will not restart it/).length, 1, consumer.output.slice(-2000));
  });
});
