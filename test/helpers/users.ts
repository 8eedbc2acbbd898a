// A user of a test domain as the chat tests need one: a token minted with its name, one MQTT
// connection subscribed to its ack, inbox and signal, and the send that waits for the ack.
import type { MqttClient } from 'mqtt'
import { Inbox, type TestServer } from './server.ts'

export interface User { id: number, client: MqttClient, inbox: Inbox, token: string }

export async function user (s: TestServer, d: { id: string, apiKey: string }, id: number, name: string): Promise<User> {
  const r = await s.api('POST', `/api/v1/domains/${d.id}/users/${id}/token`, { name }, d.apiKey)
  const client = await s.connect(d, id)
  const inbox = new Inbox(client)
  await client.subscribeAsync([`chat/${d.id}/${id}/ack`, `chat/${d.id}/${id}/inbox`, `chat/${d.id}/${id}/signal`], { qos: 1 })
  return { id, client, inbox, token: r.body.token }
}

let cidSeq = 0
/** Sends as `from` and answers its ack (`{cid, event}` or `{cid, error}`). */
export async function send (d: { id: string }, from: User, to: number, message: string): Promise<any> {
  const cid = `c${++cidSeq}`
  await from.client.publishAsync(`chat/${d.id}/${from.id}/send`, JSON.stringify({ to_userid: to, message, type: 0, cid }), { qos: 1 })
  return (await from.inbox.next((m) => m.topic.endsWith('/ack') && m.payload.cid === cid, `ack ${cid}`)).payload
}
