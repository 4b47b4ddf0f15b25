// Topic naming shared by topic-init (which creates them) and the services.

/** Retry topic for backoff step n (1-based): `orders-retry-1`, `orders-retry-2`, ... */
export function retryTopicName(ordersTopic: string, step: number): string {
  return `${ordersTopic}-retry-${step}`;
}

/** Registry subject of a topic's values (Confluent TopicNameStrategy). */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}
