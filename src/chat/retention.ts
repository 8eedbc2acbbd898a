// Retention (SPEC §1 MQCHAT_RETENTION_DAYS, §2 retentionDays): messages older than the
// domain's retentionDays, or the server's setting when the domain has none, are deleted by
// the server, in batches that do not hold the database or the event loop for long
// (store.pruneMessages). 0 in both keeps them forever. With several nodes one runs a pass at
// a time (store.exclusively); a pass that finds nothing costs one short index range per domain.
import type { Logger } from '../log.ts'
import type { Service } from '../service.ts'
import type { Store } from '../store/index.ts'

/** How often the pass runs; the first one runs soon after start. */
export const RETENTION_INTERVAL_MS = 60 * 60 * 1000
const FIRST_PASS_DELAY_MS = 10_000
const DAY_MS = 86_400_000

/** The days a domain keeps messages: its own setting, else the server's; 0 is forever. */
export const retentionDaysOf = (domainDays: number, serverDays: number): number => domainDays > 0 ? domainDays : serverDays

export class Retention implements Service {
  readonly name = 'retention'
  private timer: NodeJS.Timeout | null = null
  private running: Promise<number> | null = null

  constructor (private readonly store: Store, private readonly serverDays: number, private readonly log: Logger) {}

  async start (): Promise<void> {
    const loop = (delay: number): void => {
      this.timer = setTimeout(() => {
        this.run().catch((err) => this.log.warn({ err }, 'retention pass failed; it runs again later')).finally(() => {
          if (this.timer !== null) loop(RETENTION_INTERVAL_MS)
        })
      }, delay).unref()
    }
    loop(FIRST_PASS_DELAY_MS)
  }

  async stop (): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    await this.running?.catch(() => {})
  }

  /** One pass over every domain now (one at a time); answers how many messages went. */
  run (nowMs = Date.now()): Promise<number> {
    // With several nodes, one runs the pass at a time; the others find it taken.
    this.running ??= this.store.exclusively('retention', () => this.pass(nowMs)).then((n) => n ?? 0).finally(() => { this.running = null })
    return this.running
  }

  private async pass (nowMs: number): Promise<number> {
    let total = 0
    for (const d of await this.store.listDomains()) {
      const days = retentionDaysOf(d.retentionDays, this.serverDays)
      if (days === 0) continue
      const n = await this.store.pruneMessages(d.id, nowMs - days * DAY_MS)
      if (n > 0) this.log.info({ domain: d.id, messages: n, days }, 'old messages deleted (retention)')
      total += n
    }
    return total
  }
}
