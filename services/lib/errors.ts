// Typed failures. Each says which way the consumer must route it:
// - permanent: the order itself is bad; retrying cannot help -> DLQ at once.
// - transient: a dependency of the order failed; retry with backoff, then DLQ.
// - infrastructure: our own platform is down (registry, DLQ topic); not the
//   order's fault, so it is retried without spending the order's budget and
//   never dead-lettered.
export type FailureKind = 'permanent' | 'transient' | 'infrastructure';

export abstract class OrderFailure extends Error {
  abstract readonly kind: FailureKind;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export type UndecodableReason = 'too-short' | 'bad-magic-byte' | 'unknown-schema-id' | 'malformed-avro';

/** The value bytes are not a registry-framed Avro record we can read. */
export class UndecodableError extends OrderFailure {
  readonly kind = 'permanent';
  constructor(
    readonly reason: UndecodableReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The order decoded but breaks a business rule (empty id, bad price, ...). */
export class ValidationError extends OrderFailure {
  readonly kind = 'permanent';
}

/** A downstream step failed in a way that may pass (timeout, 5xx, down). */
export class TransientError extends OrderFailure {
  readonly kind = 'transient';
}

/** The schema registry could not be reached or answered with a server error. */
export class RegistryUnreachableError extends OrderFailure {
  readonly kind = 'infrastructure';
  constructor(
    readonly registryUrl: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
