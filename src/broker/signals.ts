// `chat/D/U/typing`, `chat/D/U/read` (SPEC §3) and `chat/D/U/call` (§10.2): handed to chat, answered on `ack` only
// when refused; what they produce reaches users on their `signal` topic.
import type { Ack, Chat } from '../chat/index.ts'
import type { Logger } from '../log.ts'
import type { Me } from './topics.ts'

export function handleSignalRequest (
  chat: Chat, log: Logger, me: Me, action: 'typing' | 'read' | 'call', payload: Buffer,
  ack: (a: Ack) => void, done: () => void
): void {
  const answer = action === 'typing'
    ? chat.typingFromUser(me.domainId, me.userid, payload)
    : action === 'read' ? chat.readFromUser(me.domainId, me.userid, payload) : chat.callFromUser(me.domainId, me.userid, payload)
  answer.then((a) => {
    if (a !== null) ack(a)
    done()
  }, (err) => {
    log.error({ err, action }, 'request failed')
    done()
  })
}
