// A port free on 127.0.0.1 right now, for a program that must be told one (php -S): the
// system picks it (port 0), it is closed, and handed over.
import net from 'node:net'

export async function freePort (): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}
