// What every resource's schemas use: the error body (a shared schema,
// registered with app.addSchema and referenced as { $ref: 'Error#' }; the
// OpenAPI document lists it under components.schemas by that name), and the
// bearer-token requirements of the routes that change something and of the
// read routes.
export const errorSchema = {
  $id: 'Error',
  type: 'object',
  description: 'Every 4xx and 5xx answer. A 5xx never carries internals; a 400 names the parameter that is wrong.',
  required: ['statusCode', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string', description: 'HTTP reason phrase' },
    message: { type: 'string' },
    code: { type: 'string', description: 'machine-readable reason, where there is one' },
  },
} as const;

const errorRef = { $ref: 'Error#' } as const;

/** Responses of the given statuses, all with the Error body. */
export function errors<S extends number>(...statuses: S[]): Record<S, typeof errorRef> {
  return Object.fromEntries(statuses.map((status) => [status, errorRef])) as Record<S, typeof errorRef>;
}

export const bearerSecurity = [{ bearerAuth: [] }];
/** The read routes: open, or with DLQ_READ_TOKEN set, a bearer token (the read token or the API token). */
export const readSecurity: { [name: string]: string[] }[] = [{}, { readToken: [] }];
