// The benches' shared surface, for scripts that want one import (the lead's scratch scripts
// import from here). Each piece lives in a file of its own job:
//   processes.ts  child processes that are always stopped
//   targets.ts    bare aedes, mqchat (SQLite or PostgreSQL), clusters, Mosquitto, stopAll
//   load.ts       the chat load (runLoad) and its report
//   measure.ts    CPU, memory, PostgreSQL and Redis counters read from outside; int, fixed
//   clients.ts    raw MQTT connections, a bounded pool, sleep
export { HOST, killAllNow, ROOT, spawnNode, type Child } from './processes.ts'
export {
  answers, freshDatabase, MOSQUITTO_PORT, MQCHAT_DOMAIN, PG_ADMIN_URL, REDIS_URL, startBareAedes, startCluster, startMqchat,
  startMqchatOn, stopAll, type BareAedes, type Cluster, type Mqchat, type StoreKind
} from './targets.ts'
export {
  FIRST_RECEIVER, FIRST_SENDER, inbox, MESSAGES_PER_SENDER, RECEIVERS, report, runLoad, SENDERS, TOTAL, WARMUP_PER_SENDER, WINDOW,
  type LoadResult, type Target
} from './load.ts'
export { backendsCpuMs, cpuMs, fixed, int, pgAdmin, pgBackendsCpuMs, pgTransactions, redisCounters, rssKb, type RedisCounters } from './measure.ts'
export { pool, rawConnect, sleep } from './clients.ts'
