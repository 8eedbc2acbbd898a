// The REST API as a customer's code calls it (SPEC §2): one small client for the in-process
// test server, the tests that run mqchat as a real process, and the benches.

export interface RestAnswer {
  status: number
  /** the parsed JSON body, or the text when it is not JSON */
  body: any
}

/** Calls `method path` with `Authorization: Bearer <key>`; `key` defaults to the client's own. */
export type Rest = (method: string, path: string, body?: unknown, key?: string) => Promise<RestAnswer>

/**
 * A client of the API at `baseUrl` (paths are appended to it). A string body is sent as it
 * is (to send what no serializer would write); anything else as JSON.
 */
export function restClient (baseUrl: string, defaultKey: string, opts: { timeoutMs?: number } = {}): Rest {
  return async (method, path, body, key = defaultKey) => {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const res = await fetch(baseUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      ...(opts.timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(opts.timeoutMs) })
    })
    const text = await res.text()
    let parsed: unknown = text
    try { parsed = JSON.parse(text) } catch {}
    return { status: res.status, body: parsed }
  }
}

/** The body of an answer that has the `expected` status; otherwise an error naming the call. */
export async function expectStatus (what: string, answer: Promise<RestAnswer>, expected: number): Promise<any> {
  const r = await answer
  if (r.status !== expected) throw new Error(`${what}: ${r.status} ${typeof r.body === 'string' ? r.body : JSON.stringify(r.body)}`)
  return r.body
}
