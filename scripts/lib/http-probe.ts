// Whether an HTTP endpoint answers 2xx right now: the health and readiness
// polls of `make up` and the scenarios. Any failure to connect is a no.
export async function answersOk(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}
