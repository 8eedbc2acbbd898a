// The messages family: the message and its event in one write, history pages, retention.
import type { EventDraft } from './outbox.ts'

export interface NewMessage {
  domainId: string
  fromUserid: number
  toUserid: number
  type: number
  message: string
  p1: string
  p2: string
  p3: string
  /** unix ms */
  at: number
  /** the uploaded file a message of type 2-4 carries (written, not read back): it is then attached */
  fileId?: string | null
}

export interface MessageRow extends NewMessage {
  id: number
}

export interface MessageQuery {
  domainId: string
  /** messages to or from this user; with `peer`, only those between the two */
  userid?: number
  peer?: number
  /** newest first, ids below this */
  before?: number
  /** oldest first, ids above this (catch-up) */
  after?: number
  limit: number
}

export interface MessageStore {
  /**
   * The message and its event, in one transaction; `eventFor` builds the event from the row
   * once the id is known. One node's calls commit in the order they were made; across
   * nodes, ids increase in commit order for one sender (its user is locked while its id is
   * taken). A message to a user who blocked its sender is refused with `blocked` (an
   * AppError) and leaves nothing: the block is read in the write's own transaction. So is
   * the domain's `contacts`: with 'friends', a message to a non-friend is refused with
   * `forbidden` and leaves nothing either (a note to self never is).
   */
  appendMessage(m: NewMessage, eventFor: (row: MessageRow) => EventDraft): Promise<MessageRow>
  listMessages(q: MessageQuery): Promise<MessageRow[]>

  /**
   * Retention: deletes the domain's messages older than `olderThanMs`, oldest first, in
   * batches that do not hold the database (or the event loop) for long; conversation rows
   * follow (a conversation with no message left goes, unread counts are recounted). Events
   * already written stay until their own retention. Answers how many messages went.
   */
  pruneMessages(domainId: string, olderThanMs: number): Promise<number>
}
