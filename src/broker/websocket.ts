// MQTT over WebSocket at `ws://host:HTTP_PORT/mqtt` (SPEC §3), on the HTTP server.
import type { Server } from 'node:http'
import { WebSocketServer, createWebSocketStream } from 'ws'
import type { Broker } from './index.ts'
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
    const path = (req.url ?? '').split('?')[0]
    if (path !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = createWebSocketStream(ws)
      stream.on('error', () => ws.terminate())
      broker.handle(stream, req)
    })
  })
  return wss
}
