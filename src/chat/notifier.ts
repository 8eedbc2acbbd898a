// What chat/ needs from a transport: it never imports broker/ (STYLE: data flows one way);
// the broker implements this and is handed to the chat service.
import type { ContactsMode } from '../store/index.ts'
import type { CallSignal } from './calls.ts'
import type { MessageEvent } from './events.ts'

export interface Notifier {
  /** A stored message for `to` (its `inbox`). */
  messageStored(domainId: string, event: MessageEvent): void
  /**
   * A message the customer's server sent as `from` (REST): for the sender's own connections,
   * on every node, as the ack of its own MQTT send reaches its other tabs (`ack`, no cid).
   */
  sentForUser(domainId: string, event: MessageEvent): void
  /**
   * A committed presence change (its retained `presence` topic). Resolves once this node's
   * subscribers have been sent it (a status PUBACK waits for that).
   */
  presenceChanged(domainId: string, userid: number, body: string): Promise<void>
  /** A signal for `userid` (its `signal` topic, every connection): typing, read markers. */
  signal(domainId: string, userid: number, body: string): void
  /**
   * SPEC §10.2: a call signal for `userid` (its `signal` topic, every connection). Every node
   * that serves the domain also hands it to `chat.calls.heard`: the node that keeps the call
   * moves it on (calls.ts).
   */
  callSignal(domainId: string, userid: number, signal: CallSignal): void
  /** The user was erased: close its connections (on every node). */
  userErased(domainId: string, userid: number): void
  /**
   * SPEC §10.3: these users' friendships changed (on every node: what a node keeps of them,
   * to filter presence, is read again). Resolves once this node has; never rejects.
   */
  friendsChanged(domainId: string, userids: number[]): Promise<void>
  /** SPEC §10.3: the domain's `contacts` setting is now this (on every node). Resolves once this node applies it; never rejects. */
  contactsChanged(domainId: string, contacts: ContactsMode): Promise<void>
}

/** Told after every commit that wrote an event, so the outbox is delivered at once. */
export type EventListener = (domainId: string) => void

/** Until a transport is attached (and in tests of chat/ alone). */
export const nullNotifier: Notifier = {
  messageStored () {},
  sentForUser () {},
  async presenceChanged () {},
  signal () {},
  callSignal () {},
  userErased () {},
  async friendsChanged () {},
  async contactsChanged () {}
}
