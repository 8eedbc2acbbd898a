// A bare aedes broker: no auth, no hooks, in-memory persistence; the baseline the chat bench
// compares mqchat with. Run as a child of bench/run.ts so that it does not share the load
// generator's event loop. Prints {"port":N} once listening on 127.0.0.1 (port 0: any free port).
import net from 'node:net'
import { Aedes } from 'aedes'

const broker = await Aedes.createBroker()
const server = net.createServer(broker.handle)
server.listen(0, '127.0.0.1', () => {
  const addr = server.address() as net.AddressInfo
  process.stdout.write(JSON.stringify({ port: addr.port }) + '\n')
})

let stopping = false
function stop (): void {
  if (stopping) return
  stopping = true
  server.close()
  broker.close(() => process.exit(0))
  // Idle clients can keep close() waiting; the bench only needs the process gone.
  setTimeout(() => process.exit(0), 2000).unref()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
// The parent holds our stdin: when it dies, so do we.
process.stdin.on('end', stop)
process.stdin.on('error', stop)
process.stdin.resume()
