// What chat/ tells the rest of the process: it never imports broker/ (STYLE: data flows one
// way). app.ts builds one Notifications, hands it to the chat, and adds who hears it: the
// outbox, web push, this node's calls and its broker (and through the bus, the other nodes').
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

/** A hearer of some of the notifications (it need not make the chat wait for it). */
export type Listener = { [K in keyof Notifier]?: (...args: Parameters<Notifier[K]>) => void | Promise<void> }

/**
 * The notifications of one process: each goes to every listener, in the order they were
 * added; one that resolves (presenceChanged, friendsChanged, contactsChanged) resolves once
 * every listener's has. A listener that throws is logged by its caller's path, as before: the
 * others still hear it.
 */
export class Notifications implements Notifier {
  private readonly listeners: Listener[] = []

  add (...listeners: Listener[]): this {
    this.listeners.push(...listeners)
    return this
  }

  messageStored (domainId: string, event: MessageEvent): void {
    for (const l of this.listeners) l.messageStored?.(domainId, event)
  }

  sentForUser (domainId: string, event: MessageEvent): void {
    for (const l of this.listeners) l.sentForUser?.(domainId, event)
  }

  async presenceChanged (domainId: string, userid: number, body: string): Promise<void> {
    await Promise.all(this.listeners.map((l) => l.presenceChanged?.(domainId, userid, body)))
  }

  signal (domainId: string, userid: number, body: string): void {
    for (const l of this.listeners) l.signal?.(domainId, userid, body)
  }

  callSignal (domainId: string, userid: number, signal: CallSignal): void {
    for (const l of this.listeners) l.callSignal?.(domainId, userid, signal)
  }

  userErased (domainId: string, userid: number): void {
    for (const l of this.listeners) l.userErased?.(domainId, userid)
  }

  async friendsChanged (domainId: string, userids: number[]): Promise<void> {
    await Promise.all(this.listeners.map((l) => l.friendsChanged?.(domainId, userids)))
  }

  async contactsChanged (domainId: string, contacts: ContactsMode): Promise<void> {
    await Promise.all(this.listeners.map((l) => l.contactsChanged?.(domainId, contacts)))
  }
}

/** Hears nothing (the Notifier's list of methods, for the bus; tests of chat/ alone). */
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
