/** The shape of every long-running part: main.ts starts them in order, stops them in reverse. */
export interface Service {
  readonly name: string
  start(): Promise<void>
  stop(): Promise<void>
}
