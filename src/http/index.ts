// The HTTP side (SPEC §1, §2): the REST API under /api/v1, its OpenAPI document, /healthz,
// /metrics, and MQTT over WebSocket at /mqtt.
import { isUtf8 } from 'node:buffer'
import type { Duplex } from 'node:stream'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import { Ajv } from 'ajv'
import type { Registry } from 'prom-client'
import type { WebSocketServer } from 'ws'
import type { Broker } from '../broker/index.ts'
import { attachWebSocket } from '../broker/websocket.ts'
import type { Callbacks } from '../callbacks/index.ts'
import { parseUserid, type ChatService } from '../chat/index.ts'
import { strictAjv } from '../chat/schemas.ts'
import type { Config } from '../config.ts'
import type { Files } from '../files/index.ts'
import type { Push } from '../push/index.ts'
import { AppError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { listen } from '../net.ts'
import type { Service } from '../service.ts'
import { adminRoutes } from './admin.ts'
import { authenticate } from './auth.ts'
import { corsRoutes } from './cors.ts'
import { callbackRoutes } from './api/callbacks.ts'
import { callRoutes } from './api/calls.ts'
import { conversationRoutes } from './api/conversations.ts'
import { friendRoutes } from './api/friends.ts'
import { domainRoutes } from './api/domains.ts'
import { fileUploadRoutes } from './api/files.ts'
import { messageRoutes } from './api/messages.ts'
import { userRoutes } from './api/users.ts'
import { PUBLIC_PUSH_PATHS, pushRoutes } from './api/push.ts'
import { widgetRoutes } from './widget.ts'
import { clientErrorHandler, errorHandler, forbiddenKey, notFoundHandler } from './errors.ts'
import { fileServeRoutes } from './files.ts'

/** Largest request body: a message send is at most ~43 KiB. */
const BODY_LIMIT_BYTES = 256 * 1024
/** How long a stop waits for requests in flight before it closes their connections. */
const STOP_GRACE_MS = 3000

/** Path and query fields that carry a userid. */
const USERID_FIELDS = ['userid', 'peer'] as const

/** Query strings and paths are text: numbers in them are coerced; bodies never are. */
const coercingAjv = new Ajv({ coerceTypes: true, useDefaults: true, removeAdditional: false, allErrors: false, strict: false })

export interface HttpDeps {
  config: Config
  chat: ChatService
  callbacks: Callbacks
  files: Files
  push: Push
  broker: Broker
  metrics: Registry
  /** true once every service has started, false again when stopping */
  ready: () => boolean
  /** with several nodes: the bus between them (its state is shown, it does not fail the probe) */
  bus?: { readonly healthy: boolean } | null
  log: Logger
  version: string
}

export class Http implements Service {
  readonly name = 'http'
  app!: FastifyInstance
  private wss: WebSocketServer | null = null
  port = 0

  constructor (private readonly deps: HttpDeps) {}

  async start (): Promise<void> {
    this.app = await buildApp(this.deps)
    this.wss = attachWebSocket(this.app.server, this.deps.broker)
    await this.app.ready()
    this.port = await listen(this.app.server, this.deps.config.httpPort, this.deps.config.host, 'MQCHAT_HTTP_PORT')
  }

  async stop (): Promise<void> {
    // Upgraded WebSocket connections are not requests: the server would wait for them forever.
    for (const ws of this.wss?.clients ?? []) ws.terminate()
    this.wss?.close()
    // Requests in flight get a moment to finish; a connection that stays on after it (a
    // browser's idle preconnect, a media download the page stopped reading) is closed rather
    // than waited for: a stop must end.
    const force = setTimeout(() => this.app.server.closeAllConnections(), STOP_GRACE_MS)
    try {
      await this.app.close()
    } finally {
      clearTimeout(force)
    }
  }
}

export async function buildApp (deps: HttpDeps): Promise<FastifyInstance> {
  const { chat, log } = deps
  const app = Fastify({
    loggerInstance: log.child({ module: 'http' }) as FastifyBaseLogger,
    // One line per request would drown the log; errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // Errors Node's HTTP parser finds before fastify sees a request (a 100 KB header: 431)
    // leave in the contract's shape too.
    clientErrorHandler: (err: Error & { code?: string }, socket: Duplex) => clientErrorHandler(err, socket)
  })
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? strictAjv.compile(schema) : coercingAjv.compile(schema))
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler(notFoundHandler)

  // JSON only: any other body type is 415, not a confusing schema error.
  app.removeAllContentTypeParsers()
  // Read as bytes: text that is not UTF-8 is refused, never decoded to U+FFFD and stored as
  // something nobody wrote. An empty body is "no body", as curl users expect. A `__proto__`
  // key (or `constructor.prototype`) is refused with a message that says so: it is valid JSON.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body: Buffer, done) => {
    if (!isUtf8(body)) return done(new AppError('invalid_json', 'the body must be UTF-8: it has bytes that are not (JSON text is UTF-8, RFC 8259 §8.1)'))
    // A leading byte order mark is allowed, as fastify's own parser allows it.
    const text = body.toString('utf8').replace(/^\uFEFF/, '')
    if (text.trim() === '') return done(null, undefined)
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (err) {
      return done(new AppError('invalid_json', `the body is not valid JSON: ${(err as Error).message}`))
    }
    const key = forbiddenKey(value)
    if (key !== null) return done(new AppError('invalid_request', `the body has a "${key}" key, which is never accepted (it would change what objects inherit)`))
    done(null, value)
  })

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'mqchat', version: deps.version, description: 'Chat backend for websites: domains, users\' tokens, presence, messages and callbacks. Authenticate with `Authorization: Bearer <key>`.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }]
    }
  })

  corsRoutes(app, chat.domains)

  await app.register(async (api) => {
    api.addHook('onRequest', async (req) => {
      if (req.routeOptions.url === '/api/v1/openapi.json' || PUBLIC_PUSH_PATHS.has(req.routeOptions.url ?? '')) return
      req.principal = await authenticate(chat.domains, req)
    })
    // Paths and queries are coerced for their schemas, which would read "0x10", "1e3", "02"
    // or "2.0" as a userid: a userid has one form everywhere, the canonical decimal MQTT takes.
    api.addHook('preValidation', async (req) => {
      for (const [part, values] of [['params', req.params], ['querystring', req.query]] as const) {
        for (const name of USERID_FIELDS) {
          const v = (values as Record<string, unknown> | undefined)?.[name]
          if (v !== undefined && (typeof v !== 'string' || parseUserid(v) === null)) {
            throw new AppError('invalid_request', `${part}.${name} must be a userid: an integer from 1 to 9007199254740991 in plain decimal`)
          }
        }
      }
    })
    api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
    domainRoutes(api, chat)
    userRoutes(api, chat)
    conversationRoutes(api, chat)
    friendRoutes(api, chat)
    pushRoutes(api, chat, deps.push)
    callRoutes(api, chat, deps.config)
    messageRoutes(api, chat)
    callbackRoutes(api, chat, deps.callbacks)
  }, { prefix: '/api/v1' })
  // Beside the API, not in it: its own body handling (streamed) and its own authentication.
  await app.register(async (api) => fileUploadRoutes(api, chat, deps.files, deps.config.uploadMaxBytes), { prefix: '/api/v1' })
  fileServeRoutes(app, deps.files)

  adminRoutes(app)
  widgetRoutes(app)

  app.get('/healthz', { schema: { hide: true } }, async (_req, reply) => {
    if (!deps.ready()) return reply.status(503).send({ status: 'starting or stopping' })
    try {
      // A database that went silent (no reset, no answer) must not hang the probe.
      await withTimeout(chat.ping(), HEALTH_PING_TIMEOUT_MS)
    } catch {
      return reply.status(503).send({ status: 'database unreachable' })
    }
    // SPEC §6: without Redis a node still serves its own users: shown, not a failure.
    return deps.bus == null ? { status: 'ok' } : { status: 'ok', bus: deps.bus.healthy ? 'up' : 'down' }
  })

  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    const who = await authenticate(chat.domains, req)
    if (who.kind !== 'operator') throw new AppError('forbidden', 'metrics need the operator key')
    return reply.type(deps.metrics.contentType).send(await deps.metrics.metrics())
  })

  return app
}

/** /healthz waits this long for the database before it answers 503. */
const HEALTH_PING_TIMEOUT_MS = 2000

function withTimeout<T> (p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_resolve, reject) => { timer = setTimeout(() => reject(new Error('timed out')), ms) })
  ])
}
