// Non-blocking retries (RETRY_MODE=topics): a record that failed transiently
// for the n-th time is written to `<orders>-retry-n` with the time it becomes
// due, and the orders partition moves on. The consumer reads the retry topics
// too and processes each record once it is due. The headers (the retry
// envelope) carry where the record came from, so a dead letter written from a
// retry topic still names the orders topic, partition and offset it was first
// read from. The envelope is read only on retry topics: on the orders topic
// x-retry-* headers are anybody's input and mean nothing.
import type { KafkaMessage, Message } from 'kafkajs';
import { headerText, originalHeaders } from '../lib/dlq.ts';
import { OrderFailure } from '../lib/errors.ts';
import { RETRY } from '../lib/retry-headers.ts';
import { retryTopicName } from '../lib/topics.ts';

/** The last error is cut to this many characters: a retry record must stay close to the original's size. */
const LAST_ERROR_CHARS = 1000;

export interface Origin {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
}

/** What the consumer knows of a record before processing it. */
export interface Envelope {
  /** Where the record was first read from. */
  origin: Origin;
  /** Attempts already made (0 for a record of the orders topic). */
  attemptsBefore: number;
  /** Retry topics only: when the record may be processed (epoch ms). */
  dueAt?: number;
}

/** A retry-topic record whose envelope cannot be read: it is dead-lettered, as retrying it cannot help. */
export class MalformedEnvelopeError extends OrderFailure {
  readonly kind = 'permanent';
}

export class RetryTopics {
  readonly topics: string[];

  constructor(
    ordersTopic: string,
    private readonly maxRetries: number,
  ) {
    this.topics = Array.from({ length: maxRetries }, (_, i) => retryTopicName(ordersTopic, i + 1));
  }

  /** The retry topic for a record whose `attempt`-th attempt just failed. */
  topicFor(attempt: number): string {
    const topic = this.topics[attempt - 1];
    if (topic === undefined) throw new RangeError(`no retry topic for attempt ${attempt}`);
    return topic;
  }

  /**
   * The record's envelope. On a retry topic it must be whole and well
   * formed, else MalformedEnvelopeError says which header is wrong; on any
   * other topic the record is where it came from.
   */
  envelope(topic: string, partition: number, message: KafkaMessage): Envelope {
    const own: Origin = { topic, partition, offset: message.offset, timestamp: message.timestamp };
    if (!this.topics.includes(topic)) return { origin: own, attemptsBefore: 0 };
    const read = (name: string, pattern: RegExp, expected: string): string => {
      const value = headerText(message.headers, name);
      if (value === undefined || !pattern.test(value)) {
        throw new MalformedEnvelopeError(
          `retry record on ${topic} has ` +
            `${value === undefined ? 'no' : `a malformed (${JSON.stringify(value.slice(0, 40))})`} ` +
            `${name} header; expected ${expected}`,
        );
      }
      return value;
    };
    const attemptsBefore = Number(read(RETRY.attempt, /^\d{1,2}$/, 'a whole number of attempts'));
    if (attemptsBefore < 1 || attemptsBefore > this.maxRetries) {
      throw new MalformedEnvelopeError(
        `retry record on ${topic} says ${attemptsBefore} attempts; expected 1 to ${this.maxRetries}`,
      );
    }
    return {
      attemptsBefore,
      dueAt: Number(read(RETRY.dueAt, /^\d{1,15}$/, 'epoch milliseconds')),
      origin: {
        topic: read(RETRY.originalTopic, /^[a-zA-Z0-9._-]{1,249}$/, 'a topic name'),
        partition: Number(read(RETRY.originalPartition, /^\d{1,9}$/, 'a partition number')),
        offset: read(RETRY.originalOffset, /^\d{1,19}$/, 'an offset'),
        timestamp: read(RETRY.originalTimestamp, /^-?\d{1,19}$/, 'a timestamp'),
      },
    };
  }

  /** The retry record for `message` after its `attempt`-th attempt failed; `partition` as Destinations places it. */
  message(
    message: KafkaMessage,
    origin: Origin,
    attempt: number,
    delayMs: number,
    error: Error,
    partition: number | undefined,
  ): Message {
    return {
      key: message.key,
      value: message.value,
      // The original partition where the retry topic has it: per-key order holds within a retry topic.
      partition,
      headers: {
        ...originalHeaders(message.headers),
        [RETRY.attempt]: String(attempt),
        [RETRY.dueAt]: String(Date.now() + delayMs),
        [RETRY.originalTopic]: origin.topic,
        [RETRY.originalPartition]: String(origin.partition),
        [RETRY.originalOffset]: origin.offset,
        [RETRY.originalTimestamp]: origin.timestamp,
        [RETRY.lastError]: error.message.slice(0, LAST_ERROR_CHARS),
      },
    };
  }
}
