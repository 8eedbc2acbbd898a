import fs from 'node:fs'

/** mqchat's version, from package.json (also sent as `user-agent: mqchat/<version>`). */
export const VERSION: string = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version
