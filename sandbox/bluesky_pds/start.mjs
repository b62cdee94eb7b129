// Starts a PLC directory and Bluesky's reference PDS (@atproto/pds) in one Node process, on
// loopback, for the end-to-end Bluesky tests. Run from the install folder (setup.sh) with
// Node 22:
//
//   node start.mjs   (configuration from the environment, see below)
//
// PLC_PORT, PDS_PORT   ports to listen on
// DATA_DIR             a fresh folder for the PDS's SQLite files and blobs
// APPVIEW_URL/DID      optional: the AppView the PDS proxies app.bsky.* reads to
//
// Prints one JSON line {"ready": true, ...} when both answer; stops on SIGTERM/SIGINT.
import { PDS, envToCfg, envToSecrets } from '@atproto/pds'
import { PlcServer, Database } from '@did-plc/server'
import { Secp256k1Keypair } from '@atproto/crypto'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

const plcPort = Number(process.env.PLC_PORT)
const pdsPort = Number(process.env.PDS_PORT)
const dataDir = process.env.DATA_DIR
fs.mkdirSync(path.join(dataDir, 'blobs'), { recursive: true })

const plc = PlcServer.create({ db: Database.mock(), port: plcPort })
await plc.start()

const rotationKey = await Secp256k1Keypair.create({ exportable: true })
const env = {
  port: pdsPort,
  hostname: 'localhost',
  devMode: true,
  dataDirectory: dataDir,
  blobstoreDiskLocation: path.join(dataDir, 'blobs'),
  jwtSecret: crypto.randomBytes(16).toString('hex'),
  adminPassword: crypto.randomBytes(16).toString('hex'),
  plcRotationKeyK256PrivateKeyHex: Buffer.from(await rotationKey.export()).toString('hex'),
  didPlcUrl: `http://localhost:${plcPort}`,
  inviteRequired: false,
  serviceHandleDomains: ['.test'],
  rateLimitsEnabled: false,
  crawlers: [],
}
if (process.env.APPVIEW_URL) {
  env.bskyAppViewUrl = process.env.APPVIEW_URL
  env.bskyAppViewDid = process.env.APPVIEW_DID
}
const pds = await PDS.create(envToCfg(env), envToSecrets(env))
await pds.start()

console.log(
  JSON.stringify({
    ready: true,
    pds: `http://localhost:${pdsPort}`,
    plc: `http://localhost:${plcPort}`,
    adminPassword: env.adminPassword,
  }),
)

const stop = async () => {
  await pds.destroy()
  await plc.destroy()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
