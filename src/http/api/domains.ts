// Domains and their keys (SPEC §2).
import type { FastifyInstance } from 'fastify'
import type { Static } from '@sinclair/typebox'
import type { ChatService } from '../../chat/index.ts'
import { requireOperator } from '../auth.ts'
import { requireDomainKey } from '../auth.ts'
import { CreatedDomain, Domain, DomainParams, DomainPatchBody, NewDomainBody, withErrors, ErrorBody } from '../schemas.ts'
import { Type } from '@sinclair/typebox'
import type { DomainRow } from '../../store/index.ts'

const view = (d: DomainRow) => ({ id: d.id, name: d.name, createdAt: Math.floor(d.createdAt / 1000), retentionDays: d.retentionDays, allowedOrigins: d.allowedOrigins, contacts: d.contacts })

const Me = Type.Object({
  kind: Type.Union([Type.Literal('operator'), Type.Literal('domain')]),
  domain: Type.Optional(Domain)
})

export function domainRoutes (app: FastifyInstance, chat: ChatService): void {
  app.get('/me', {
    schema: {
      summary: 'Who this key is: the operator, or a domain (and which)',
      tags: ['domains'],
      response: withErrors({ 200: Me })
    }
  }, async (req) => {
    const who = req.principal!
    return who.kind === 'operator' ? { kind: 'operator' } : { kind: 'domain', domain: view(await chat.domains.get(who, who.domainId)) }
  })

  app.post<{ Body: Static<typeof NewDomainBody> }>('/domains', {
    schema: {
      summary: 'Create a domain (operator)',
      tags: ['domains'],
      body: NewDomainBody,
      response: withErrors({ 201: CreatedDomain, 403: ErrorBody, 409: ErrorBody })
    }
  }, async (req, reply) => {
    requireOperator(req.principal!)
    const created = await chat.domains.create(req.body.id, req.body.name)
    req.log.info({ domain: created.id }, 'domain created')
    return reply.status(201).send(created)
  })

  app.get('/domains', {
    schema: {
      summary: 'List domains (operator)',
      tags: ['domains'],
      response: withErrors({ 200: Type.Object({ domains: Type.Array(Domain) }), 403: ErrorBody })
    }
  }, async (req) => {
    requireOperator(req.principal!)
    return { domains: (await chat.domains.list()).map(view) }
  })

  app.get<{ Params: Static<typeof DomainParams> }>('/domains/:domain', {
    schema: { summary: 'Get a domain (no secrets)', tags: ['domains'], params: DomainParams, response: withErrors({ 200: Domain }) }
  }, async (req) => view(await chat.domains.get(req.principal!, req.params.domain)))

  app.patch<{ Params: Static<typeof DomainParams>, Body: Static<typeof DomainPatchBody> }>('/domains/:domain', {
    schema: {
      summary: 'Change a domain\'s settings: name, retentionDays, allowedOrigins, contacts',
      description: 'Fields left out are kept. `allowedOrigins` limits both browser calls (CORS) and MQTT over WebSocket to those origins; empty allows any. `contacts: "friends"` lets users reach and see only their friends.',
      tags: ['domains'],
      params: DomainParams,
      body: DomainPatchBody,
      response: withErrors({ 200: Domain, 403: ErrorBody })
    }
  }, async (req) => {
    requireDomainKey(req.principal!)
    const d = await chat.domains.update(req.principal!, req.params.domain, req.body)
    req.log.info({ domain: d.id, fields: Object.keys(req.body) }, 'domain settings changed')
    return view(d)
  })

  app.post<{ Params: Static<typeof DomainParams> }>('/domains/:domain/keys/rotate', {
    schema: {
      summary: 'Rotate the domain key: the old one stops working at once',
      tags: ['domains'],
      params: DomainParams,
      response: withErrors({ 200: Type.Object({ apiKey: Type.String() }) })
    }
  }, async (req) => {
    const apiKey = await chat.domains.rotateKey(req.principal!, req.params.domain)
    req.log.info({ domain: req.params.domain }, 'domain key rotated')
    return { apiKey }
  })
}
