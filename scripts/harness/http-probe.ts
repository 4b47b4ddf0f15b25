// Whether an HTTP endpoint answers 2xx right now: the health and readiness
// polls of `make up`, the scenarios and the local stack's registry. Any
// failure to connect, or no answer within 2 s, is a no.
export async function answersOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}
