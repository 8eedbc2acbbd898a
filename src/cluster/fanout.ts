// A Notifier for several nodes: each publish goes to this node's clients and, through the
// bus, to every other node's (which hands it to its own clients only). chat/ does not know
// there is more than one node.
import { nullNotifier, type Notifier } from '../chat/notifier.ts'
import type { RedisBus } from './bus.ts'

/** Exactly the Notifier's methods travel on the bus, nothing else of the local broker. */
const METHODS = Object.keys(nullNotifier) as Array<keyof Notifier>

type AnyFn = (...args: unknown[]) => unknown

export function clusterNotifier (local: Notifier, bus: RedisBus): Notifier {
  bus.onReceive((method, args) => {
    if ((METHODS as string[]).includes(method) && Array.isArray(args)) (local[method as keyof Notifier] as AnyFn).apply(local, args)
  })
  const out: Record<string, AnyFn> = {}
  for (const m of METHODS) {
    out[m] = (...args: unknown[]) => {
      const delivered = (local[m] as AnyFn).apply(local, args)
      bus.publish(m, args)
      return delivered
    }
  }
  return out as unknown as Notifier
}
