// One root pino logger; modules take `log.child({ module })`. Secrets never reach the output:
// the fields that could hold one are redacted wherever they appear.
import { pino, type Logger } from 'pino'

export type { Logger }

const REDACT = [
  'apiKey', '*.apiKey', 'tokenSecret', '*.tokenSecret', 'token', '*.token', 'password', '*.password',
  'signingSecret', '*.signingSecret', 'adminKey', '*.adminKey',
  'req.headers.authorization', 'headers.authorization', 'authorization',
  // calls: the TURN server's shared secret, and the credentials made with it
  'turnSecret', '*.turnSecret', 'credential', '*.credential'
]

export function createLogger (level: string, destination?: pino.DestinationStream): Logger {
  return pino({
    level,
    base: { service: 'mqchat' },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime
  }, destination)
}
