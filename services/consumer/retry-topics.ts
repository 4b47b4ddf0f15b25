// Non-blocking retries (RETRY_MODE=topics): a record that failed transiently
// for the n-th time is written to `<orders>-retry-n` with the time it becomes
// due, and the orders partition moves on. The consumer reads the retry topics
// too and processes each record once it is due. The headers carry where the
// record came from, so a dead letter written from a retry topic still names
// the orders topic, partition and offset it was first read from.
import type { KafkaMessage, Message } from 'kafkajs';
import { headerText, originalHeaders } from '../lib/dlq.ts';
import { retryTopicName } from '../lib/topics.ts';

export const RETRY = {
  /** Attempts made so far (all failed). */
  attempt: 'x-retry-attempt',
  /** Epoch milliseconds from which the record may be processed again. */
  dueAt: 'x-retry-due-at',
  originalTopic: 'x-retry-original-topic',
  originalPartition: 'x-retry-original-partition',
  originalOffset: 'x-retry-original-offset',
  originalTimestamp: 'x-retry-original-timestamp',
  lastError: 'x-retry-last-error',
} as const;

export interface Origin {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
}

export class RetryTopics {
  readonly topics: string[];

  constructor(ordersTopic: string, maxRetries: number) {
    this.topics = Array.from({ length: maxRetries }, (_, i) => retryTopicName(ordersTopic, i + 1));
  }

  /** The retry topic for a record whose `attempt`-th attempt just failed. */
  topicFor(attempt: number): string {
    const topic = this.topics[attempt - 1];
    if (topic === undefined) throw new RangeError(`no retry topic for attempt ${attempt}`);
    return topic;
  }

  /** When a retry-topic record becomes due; undefined for other topics. */
  dueAt(topic: string, message: KafkaMessage): number | undefined {
    if (!this.topics.includes(topic)) return undefined;
    return Number(headerText(message.headers, RETRY.dueAt) ?? 0);
  }

  attemptsBefore(message: KafkaMessage): number {
    return Number(headerText(message.headers, RETRY.attempt) ?? 0);
  }

  origin(topic: string, partition: number, message: KafkaMessage): Origin {
    const originalTopic = headerText(message.headers, RETRY.originalTopic);
    if (originalTopic === undefined) return { topic, partition, offset: message.offset, timestamp: message.timestamp };
    return {
      topic: originalTopic,
      partition: Number(headerText(message.headers, RETRY.originalPartition)),
      offset: headerText(message.headers, RETRY.originalOffset) ?? '',
      timestamp: headerText(message.headers, RETRY.originalTimestamp) ?? '',
    };
  }

  message(message: KafkaMessage, origin: Origin, attempt: number, delayMs: number, error: Error): Message {
    return {
      key: message.key,
      value: message.value,
      // Same partition as the original: per-key order holds within a retry topic.
      partition: origin.partition,
      headers: {
        ...originalHeaders(message.headers),
        [RETRY.attempt]: String(attempt),
        [RETRY.dueAt]: String(Date.now() + delayMs),
        [RETRY.originalTopic]: origin.topic,
        [RETRY.originalPartition]: String(origin.partition),
        [RETRY.originalOffset]: origin.offset,
        [RETRY.originalTimestamp]: origin.timestamp,
        [RETRY.lastError]: error.message,
      },
    };
  }
}
