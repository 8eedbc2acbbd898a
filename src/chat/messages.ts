// Messages (SPEC §3): stored with their event in one transaction, then delivered to the
// recipient's inbox. The same path serves MQTT sends and sends from the customer's server.
import { AppError } from '../errors.ts'
import { fileIdOfUrl } from '../files/urls.ts'
import type { MessageQuery, MessageRow, Store } from '../store/index.ts'
import { messageEvent, type MessageEvent } from './events.ts'
import { newWebhookId } from './ids.ts'
import type { Notifier } from './notifier.ts'
import type { KeyedSerial } from './serial.ts'

export interface OutgoingMessage {
  to_userid: number
  message: string
  type: number
  p1?: string
  p2?: string
  p3?: string
}

/** SPEC §3, §8: picture from disk, record, picture from cam: `message` is a file's URL. */
const FILE_TYPES = new Set([2, 3, 4])

const eventFor = (row: MessageRow) => ({ webhookId: newWebhookId(row.at), body: JSON.stringify(messageEvent(row)) })

export class Messages {
  sent = 0

  constructor (
    private readonly store: Store,
    private readonly notifier: Notifier,
    private readonly userWrites: KeyedSerial,
    /** MQCHAT_PUBLIC_URL, or the address the HTTP side bound */
    private readonly publicUrl: () => string
  ) {}

  /**
   * Input is already validated. Resolves once stored (durably) and handed to the inbox. A
   * sender's messages are stored one after another, so their ids and callbacks keep its order.
   * `byServer`: the customer's server sent it for the user (REST); the user's own connections
   * are told too, as its own MQTT send's ack tells its other tabs.
   */
  async send (domainId: string, fromUserid: number, m: OutgoingMessage, opts: { byServer?: boolean } = {}): Promise<MessageEvent> {
    // SPEC §3: a type 2-4 message must carry a file of the domain (a lookup). It starts now,
    // but the send takes its place in the sender's queue at once, so that lookups answering
    // out of order (a pool of connections) cannot reorder its messages. Whether the
    // recipient blocked the sender is the store's to check, in the write's own transaction.
    const attachment = FILE_TYPES.has(m.type) ? this.attachment(domainId, m.message) : Promise.resolve(null)
    attachment.catch(() => {})
    // The sender's queue moves on once the write is handed to the store, which commits one
    // node's writes in the order they were handed over: waiting for the commit here would let
    // a sender have one message per commit, and a group commit of one.
    const queued = await this.userWrites.run(`${domainId}/${fromUserid}`, async () => {
      const fileId = await attachment
      const written = this.store.appendMessage({
        domainId,
        fromUserid,
        toUserid: m.to_userid,
        type: m.type,
        message: m.message,
        p1: m.p1 ?? '',
        p2: m.p2 ?? '',
        p3: m.p3 ?? '',
        at: Date.now(),
        fileId
      }, eventFor)
      written.catch(() => {}) // awaited below
      return { written }
    })
    const row = await queued.written
    this.sent++
    const event = messageEvent(row)
    this.notifier.messageStored(domainId, event)
    if (opts.byServer === true) this.notifier.sentForUser(domainId, event)
    return event
  }

  /**
   * The id of the file a message of type 2-4 carries: its `message` must be the URL of a file
   * uploaded to the same domain; another domain's file, a made-up or an external URL is
   * refused with invalid_attachment. The callback body keeps the URL as it is (SPEC §4.2).
   */
  private async attachment (domainId: string, url: string): Promise<string> {
    const base = this.publicUrl()
    const id = fileIdOfUrl(base, domainId, url)
    if (id === null || await this.store.getFile(domainId, id) === null) {
      throw new AppError('invalid_attachment', `a message of type 2, 3 or 4 carries the url of a file uploaded to this domain (${base}/files/${domainId}/…), as the upload answered it`)
    }
    return id
  }

  async history (q: MessageQuery): Promise<MessageEvent[]> {
    return (await this.store.listMessages(q)).map(messageEvent)
  }
}
