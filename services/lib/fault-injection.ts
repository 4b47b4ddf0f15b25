// The lab's fault injection: the producer's --transient marks an order with
// this header, and the consumer's downstream step (with FAULT_INJECTION=true)
// fails the order's first N attempts, so retries can be seen and tested.

/** The first N attempts of an order carrying `x-fault-transient: N` fail transiently. */
export const FAULT_TRANSIENT_HEADER = 'x-fault-transient';
