// `chat/D/U/typing` and `chat/D/U/read` (SPEC §3): handed to chat, answered on `ack` only
// when refused; what they produce reaches users on their `signal` topic.
import type { Ack, Chat } from '../chat/index.ts'
import type { Logger } from '../log.ts'
import type { Me } from './topics.ts'

export function handleSignalRequest (
  chat: Chat, log: Logger, me: Me, action: 'typing' | 'read', payload: Buffer,
  ack: (a: Ack) => void, done: () => void
): void {
  const answer = action === 'typing'
    ? chat.typingFromUser(me.domainId, me.userid, payload)
    : chat.readFromUser(me.domainId, me.userid, payload)
  answer.then((a) => {
    if (a !== null) ack(a)
    done()
  }, (err) => {
    log.error({ err, action }, 'request failed')
    done()
  })
}
