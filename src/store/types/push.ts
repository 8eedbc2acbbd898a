// The web push family (SPEC §10.1): server settings, subscriptions, and the push jobs with their leases.

/** SPEC §10.1: a browser's push subscription (its `PushSubscription` JSON), for one user. */
export interface PushSubscriptionRow {
  domainId: string
  userid: number
  endpoint: string
  /** base64url: the browser's P-256 public key, and its 16-byte auth secret */
  p256dh: string
  auth: string
  /** unix ms */
  createdAt: number
}

/** A push leased to one node, with the keys of its subscription (null: it was removed since). */
export interface ClaimedPush {
  id: number
  domainId: string
  userid: number
  endpoint: string
  /** what the worker makes the notification from (JSON) */
  payload: string
  /** attempts made before this one */
  attempts: number
  createdAt: number
  keys: { p256dh: string, auth: string } | null
}

/** How a push attempt ended: sent, the subscription is gone (404, 410), given up, or again at `retryAt`. */
export type PushOutcome = { outcome: 'sent' | 'gone' | 'dropped' } | { outcome: 'retry', retryAt: number }

export interface PushStore {
  /**
   * A server-wide setting: the value kept for `key`, keeping `value` first when there is none.
   * Nodes that start together all answer the first one's (insert-if-absent, then read).
   */
  initSetting(key: string, value: string): Promise<string>
  /**
   * Keeps a subscription for its user (the same endpoint again: renewed, and moved to this
   * user if another had it); beyond `max` a user's oldest go.
   */
  addPushSubscription(s: PushSubscriptionRow, max: number): Promise<void>
  /** Removes the user's subscription with that endpoint (and its pushes); false if it had none. */
  removePushSubscription(domainId: string, userid: number, endpoint: string): Promise<boolean>
  /** The user's subscriptions, oldest first. */
  listPushSubscriptions(domainId: string, userid: number): Promise<PushSubscriptionRow[]>
  /**
   * One push per subscription of the user, due now. A store that counts every node's
   * connections (shared presence) queues nothing while the user has one open anywhere.
   * Answers how many subscriptions the user has and how many pushes were queued.
   */
  queuePush(domainId: string, userid: number, payload: string, at: number): Promise<{ subscriptions: number, queued: number }>
  /** Leases up to `limit` due pushes to `nodeId` until `leaseUntil`, oldest due first. */
  claimPushes(nodeId: string, nowMs: number, leaseUntil: number, limit: number): Promise<ClaimedPush[]>
  /**
   * Records how a push ended, if `nodeId` still holds its lease: sent, dropped or gone
   * remove it (gone removes its subscription too); retry frees it until `retryAt`.
   */
  finishPush(id: number, nodeId: string, o: PushOutcome): Promise<void>
  /** Pushes waiting (metrics, tests). */
  countPushes(): Promise<number>
}
