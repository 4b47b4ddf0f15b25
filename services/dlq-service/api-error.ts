// An error a route answers with on purpose: its status, message and optional
// machine-readable code go to the client as they are (see the error handler).
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly code?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}
