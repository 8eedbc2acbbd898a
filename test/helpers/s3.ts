// A local S3-compatible server (s3rver) on a free port, for the S3 side of file storage:
// never a remote store. Its bucket lives in a temporary directory removed after the test.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TestContext } from 'node:test'
import S3rver from 's3rver'
import type { S3Location } from '../../src/config.ts'

export const S3_TEST_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

export interface LocalS3 {
  endpoint: string
  bucket: string
  /** the settings that point mqchat at it */
  env: Record<string, string>
  location: (prefix?: string) => S3Location
}

export async function startS3 (t: TestContext | { after: (fn: () => Promise<void>) => void }, bucket = 'mqchat-test'): Promise<LocalS3> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-s3-'))
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: bucket, configs: [] }] })
  const addr = await server.run() as { port: number }
  t.after(async () => {
    await server.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  const endpoint = `http://127.0.0.1:${addr.port}`
  return {
    endpoint,
    bucket,
    env: {
      MQCHAT_STORAGE_URL: `s3://${bucket}/uploads`,
      MQCHAT_S3_ENDPOINT: endpoint,
      AWS_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1'
    },
    location: (prefix = 'p/') => ({ bucket, prefix, endpoint, region: 'us-east-1', credentials: S3_TEST_CREDENTIALS })
  }
}
