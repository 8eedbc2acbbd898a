// Listening on a port, with the one clear line an operator needs when it cannot (SPEC §1).
import type { Server } from 'node:net'
import { SetupError } from './errors.ts'

/** Listens and resolves the bound port (useful with port 0). */
export function listen (server: Server, port: number, host: string, setting: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const why = err.code === 'EADDRINUSE'
        ? `port ${port} on ${host} is already in use; set ${setting} to a free port`
        : err.code === 'EACCES'
          ? `port ${port} on ${host} needs privileges this process lacks; set ${setting} to a port above 1023`
          : err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND'
            ? `cannot listen on ${host}: no such local address (MQCHAT_HOST)`
            : `cannot listen on ${host}:${port} (${err.code ?? err.message})`
      reject(new SetupError(`${setting}: ${why}`, err))
    }
    server.once('error', onError)
    server.listen(port, host, () => {
      server.removeListener('error', onError)
      const addr = server.address()
      resolve(typeof addr === 'object' && addr !== null ? addr.port : port)
    })
  })
}
