// MQTT over WebSocket at `ws://host:HTTP_PORT/mqtt` (SPEC §3), on the HTTP server.
import type { Server } from 'node:http'
import net from 'node:net'
import { WebSocketServer, createWebSocketStream } from 'ws'
import { TCP_KEEPALIVE_MS, type Broker } from './index.ts'
import { MAX_PACKET_BYTES } from './frame-limit.ts'

export const WS_PATH = '/mqtt'
const WS_MAX_MESSAGE_BYTES = 16 * MAX_PACKET_BYTES

export function attachWebSocket (server: Server, broker: Broker): WebSocketServer {
  const wss = new WebSocketServer({
    noServer: true,
    // [MQTT-6.0.0-2] packets need not line up with WebSocket messages: mqtt.js in a browser
    // sends everything written in one tick as one message. The frame limit checks each
    // packet; this only bounds the memory one message can take.
    maxPayload: WS_MAX_MESSAGE_BYTES,
    // MQTT clients ask for the `mqtt` subprotocol (older ones `mqttv3.1`).
    handleProtocols: (protocols) => protocols.has('mqtt') ? 'mqtt' : (protocols.values().next().value ?? false)
  })
  server.on('upgrade', (req, socket, head) => {
    // Node leaves an upgraded socket without an error handler: a peer's reset would be an
    // uncaught exception that ends the process.
    socket.on('error', () => socket.destroy())
    const path = (req.url ?? '').split('?')[0]
    if (path !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n')
      return
    }
    // Keep-alive probes find a silently dropped peer even when its MQTT keep-alive is 0.
    if (socket instanceof net.Socket) socket.setKeepAlive(true, TCP_KEEPALIVE_MS)
    wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = createWebSocketStream(ws)
      // A packet may span WebSocket frames [MQTT-6.0.0-2], but mqtt-packet writes each in
      // pieces (header, topic, payload) between a cork and an uncork, and they went out as a
      // frame each: five or six frames, and as many browser events, per message. What is
      // written while corked now leaves as one frame.
      stream._writev = (chunks, callback) => stream._write(Buffer.concat(chunks.map((c) => c.chunk as Buffer)), 'binary', callback)
      stream.on('error', () => ws.terminate())
      broker.handle(stream, req)
    })
  })
  return wss
}
