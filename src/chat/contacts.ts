// Friends and who may reach whom (SPEC §10.3). A domain keeps each user's friends (mutual,
// set by the customer's server); with `contacts: "friends"` a user may message, call and push
// only its friends and sees only their presence. Sends are checked by the store, in the
// write's own transaction (a friendship removed and a send cannot cross); typing, calls and
// pushes ask `mayReach`; presence is filtered by the transport from what `friendIds` gives.
import { AppError } from '../errors.ts'
import type { ContactsMode, Store } from '../store/index.ts'
import type { Notifier } from './notifier.ts'
import { userView, type UserView } from './profiles.ts'

export class Contacts {
  constructor (private readonly store: Store, private readonly notifier: Notifier) {}

  /** Both become friends (friends=false: neither is any more); resolves once this node's presence filter knows. */
  async setFriend (domainId: string, userid: number, peer: number, friends: boolean, nowMs = Date.now()): Promise<void> {
    if (userid === peer) throw new AppError('invalid_request', `params.peer is the user itself (${peer}): a user cannot be its own friend`)
    await this.store.setFriend(domainId, userid, peer, friends, nowMs)
    await this.notifier.friendsChanged(domainId, [userid, peer])
  }

  async list (domainId: string, userid: number): Promise<UserView[]> {
    return (await this.store.listFriends(domainId, userid)).map(userView)
  }

  /** The userids of the user's friends (for the presence filter). */
  async friendIds (domainId: string, userid: number): Promise<number[]> {
    return (await this.store.listFriends(domainId, userid)).map((u) => u.userid)
  }

  /** The domain's setting ('everyone' for a domain that is gone: nobody is left to filter for). */
  async mode (domainId: string): Promise<ContactsMode> {
    return (await this.store.getDomain(domainId))?.contacts ?? 'everyone'
  }

  /**
   * May `from` reach `to` (a typing notice, a call, a push)? Always itself; anyone in a
   * domain open to everyone; else only a friend. Messages are not checked here: the store
   * refuses them in their own transaction.
   */
  async mayReach (domainId: string, from: number, to: number): Promise<boolean> {
    if (from === to) return true
    if (await this.mode(domainId) === 'everyone') return true
    return this.store.areFriends(domainId, from, to)
  }

  /**
   * With contacts 'friends', the users `userid` may see (SPEC §10.3: "sees the presence of
   * only its friends"): itself and its friends, by userid; null when it may see anyone.
   */
  async visibleUsers (domainId: string, userid: number): Promise<UserView[] | null> {
    if (await this.mode(domainId) === 'everyone') return null
    const [me, friends] = await Promise.all([this.store.getUser(domainId, userid), this.store.listFriends(domainId, userid)])
    return [...(me === null ? [] : [me]), ...friends].sort((a, b) => a.userid - b.userid).map(userView)
  }

  /** A PATCH set the domain's contacts: every node's presence filter follows. */
  modeChanged (domainId: string, contacts: ContactsMode): Promise<void> {
    return this.notifier.contactsChanged(domainId, contacts)
  }
}
