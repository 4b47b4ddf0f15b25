// Which way a processing failure goes. Errors this project does not know are
// transient: retrying an unknown error costs a few seconds, while
// dead-lettering a good order for a passing fault loses it from the aggregate.
import { OrderFailure, UndecodableError, type FailureKind } from '../lib/errors.ts';
import type { FailureClass } from '../lib/dlq.ts';

export function failureKind(error: unknown): FailureKind {
  return error instanceof OrderFailure ? error.kind : 'transient';
}

/** The DLQ failure class of an error that is dead-lettered without (more) retries. */
export function deadLetterClass(error: unknown): FailureClass {
  if (error instanceof UndecodableError) return 'undecodable';
  return failureKind(error) === 'permanent' ? 'invalid' : 'retries-exhausted';
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
