#!/usr/bin/env -S node --max-semi-space-size=8
// The V8 flag caps the young generation (8 MB semi-spaces): polling 1,000 devices, peak RSS is
// about 177 MB with it and 266 MB without, at the same polling speed (bench/memory.ts).
import { parseArgs } from 'node:util';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, ConfigError, formatProblem, parseConfigText } from './config/load.ts';
import { createLogger } from './log.ts';
import { build } from './daemon.ts';
import { checkProfiles, checkTopology, checkTrapDefinitions, configWarnings, readTopology } from './check-config.ts';
import { openStore } from './store/module.ts';
import { checkPolicies } from '../correlators/compensation/assemble.ts';
import { SimNetwork } from './sim/network.ts';
import { importSubscribers } from '../correlators/subscribers/import.ts';
import { hashToken } from './api/auth.ts';
import { reportCommand } from '../correlators/reports/command.ts';

const USAGE = `netpulse: network-quality monitoring and outage correlation

Usage:
  netpulse start [--config FILE]      run the daemon (embedded defaults without --config)
  netpulse check-config FILE          validate a config file and print every problem
  netpulse hash-token TOKEN           the sha256:... form of an API token, for api.tokens[].hash
  netpulse report [--from TIME --to TIME | --month YYYY-MM] [--format html|csv|json] [--what-if POLICY] [--out FILE] [--config FILE]
                                      the service report for a period (default: last month) from the store
  netpulse import-subscribers FILE [--replace] [--max-rejected SHARE] [--config FILE]
                                      load subscribers from CSV or JSON Lines (.jsonl), row by row
  netpulse --help

Environment: NETPULSE_CONFIG names the config file when --config is not given; without
either, the demo runs on embedded defaults (its API on NETPULSE_API_HOST, 127.0.0.1 unless set).`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' }, replace: { type: 'boolean' }, 'max-rejected': { type: 'string' },
      from: { type: 'string' }, to: { type: 'string' }, month: { type: 'string' }, format: { type: 'string' }, 'what-if': { type: 'string' }, out: { type: 'string', short: 'o' },
    },
  });
  const [command, file] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  switch (command) {
    case 'check-config':
      return checkConfig(file ?? values.config);
    case 'import-subscribers':
      return importFile(file, values.config ?? process.env.NETPULSE_CONFIG, values.replace === true, values['max-rejected']);
    case 'hash-token':
      if (!file) {
        console.error('hash-token needs the token: netpulse hash-token "$(openssl rand -hex 24)"');
        return 2;
      }
      console.log(hashToken(file));
      return 0;
    case 'report':
      return report(values, values.config ?? process.env.NETPULSE_CONFIG);
    case 'start':
      return start(values.config ?? file ?? process.env.NETPULSE_CONFIG);
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

function checkConfig(file: string | undefined): number {
  if (!file) {
    console.error('check-config needs a file: netpulse check-config config/netpulse.example.yaml');
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    console.error(`${file}: cannot read: ${(err as Error).message}`);
    return 1;
  }
  const { config, problems } = parseConfigText(text);
  if (config) problems.push(...checkProfiles(config), ...checkTopology(config), ...checkPolicies(config), ...checkTrapDefinitions(config));
  if (problems.length > 0) {
    console.error(`${file}: ${problems.length} problem(s)`);
    for (const p of problems) console.error(`  ${formatProblem(p)}`);
    return 1;
  }
  let topology;
  try {
    topology = readTopology(config!, config!.sim.enabled ? new SimNetwork(config!.sim) : undefined);
  } catch { /* its problems were reported above */ }
  const warnings = configWarnings(config!, topology);
  for (const w of warnings) console.error(`  warning: ${formatProblem(w)}`);
  console.log(`${file}: OK${warnings.length > 0 ? ` (${warnings.length} warning(s))` : ''}`);
  return 0;
}

/** Loads a subscriber file into the configured store, checking serving elements against the topology. */
async function importFile(file: string | undefined, configFile: string | undefined, replace: boolean, maxRejectedArg: string | undefined): Promise<number> {
  if (!file) {
    console.error('import-subscribers needs a file: netpulse import-subscribers subscribers.csv [--replace]');
    return 2;
  }
  const maxRejected = maxRejectedArg === undefined ? undefined : Number(maxRejectedArg);
  if (maxRejected !== undefined && !(maxRejected >= 0 && maxRejected <= 1)) {
    console.error(`--max-rejected: expected a share from 0 to 1 (0.01 is 1 %), not ${maxRejectedArg}`);
    return 2;
  }
  const config = configOrNothing(configFile);
  if (!config) return 1;
  const topology = readTopology(config, config.sim.enabled ? new SimNetwork(config.sim) : undefined);
  const store = openStore(config);
  try {
    await store.migrate();
    const r = await importSubscribers(store, createReadStream(file), { format: file.endsWith('.jsonl') || file.endsWith('.ndjson') ? 'jsonl' : 'csv', mode: replace ? 'replace' : 'incremental', known: (e) => topology.elements.has(e), maxRejected });
    for (const p of r.problems) console.error(`${file}:${p.line}: ${p.reason}`);
    if (r.rejected > r.problems.length) console.error(`... and ${r.rejected - r.problems.length} more rejected rows`);
    if (r.refused) {
      console.error(`${file}: refused, nothing changed: ${r.refused}`);
      return 1;
    }
    console.log(`${file}: ${r.loaded} loaded, ${r.rejected} rejected of ${r.rows} rows in ${r.seconds.toFixed(1)} s (${Math.round(r.rows / Math.max(r.seconds, 0.001))} rows/s, ${replace ? 'replaced the inventory' : 'incremental'})`);
    return r.rejected > 0 ? 1 : 0;
  } catch (err) {
    console.error(`${file}: ${(err as Error).message}`);
    return 1;
  } finally {
    await store.close();
  }
}

/** The configuration for a command, or nothing once what is wrong with it is printed. */
function configOrNothing(configFile: string | undefined): ReturnType<typeof loadConfig> | undefined {
  try {
    return loadConfig(configFile);
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : (err as Error).message);
    return undefined;
  }
}

/** `netpulse report`: the service report read from the configured store, to stdout or --out. */
async function report(o: { from?: string; to?: string; month?: string; format?: string; 'what-if'?: string; out?: string }, configFile: string | undefined): Promise<number> {
  const config = configOrNothing(configFile);
  if (!config) return 1;
  return reportCommand(config, o, { out: (s) => process.stdout.write(s), err: (s) => console.error(s) });
}

async function start(file: string | undefined): Promise<number> {
  let config;
  try {
    config = loadConfig(file);
    const problems = [...checkProfiles(config), ...checkPolicies(config), ...checkTrapDefinitions(config)];
    if (problems.length > 0) throw new ConfigError(file ?? 'embedded defaults', problems);
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `cannot load config: ${(err as Error).message}`);
    return 1;
  }
  const format = config.daemon.logFormat === 'auto' ? (process.stderr.isTTY ? 'pretty' : 'json') : config.daemon.logFormat;
  const logger = createLogger({ level: config.daemon.logLevel, format });
  logger.info({ config: file ?? 'embedded defaults', dataDir: config.daemon.dataDir }, 'netpulse starting');
  let known;
  try {
    known = readTopology(config, config.sim.enabled ? new SimNetwork(config.sim) : undefined);
  } catch { /* build() reports a bad topology */ }
  for (const w of configWarnings(config, known)) logger.warn({ path: w.path }, w.message);
  let daemon: ReturnType<typeof build>;
  let exiting = false;
  // In a cluster, a leader that lost its lease (it was paused, or cut off from the store) cannot take
  // its leader-only work back: it stops, and a new daemon in this process joins as a follower.
  const rejoin = () => {
    logger.warn('deposed as the cluster leader: restarting as a follower');
    void (async () => {
      await daemon.stop();
      // The store may be away (that may be why): try again, 1 s then up to 30 s apart, until it answers or we are told to stop.
      for (let delay = 1000; !exiting; delay = Math.min(delay * 2, 30_000)) {
        daemon = build(config, { logger, onDeposed: rejoin });
        try {
          await daemon.start();
          logger.info('rejoined the cluster as a follower');
          return;
        } catch (err) {
          logger.error({ err, retryInMs: delay }, 'cannot rejoin the cluster yet');
          await daemon.stop();
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    })().catch((err) => {
      logger.fatal({ err }, 'cannot rejoin the cluster; exiting for the supervisor to restart');
      logger.flush();
      process.exit(1);
    });
  };
  try {
    daemon = build(config, { logger, onDeposed: rejoin });
  } catch (err) {
    console.error((err as Error).message); // a bad topology file, named with every problem
    return 1;
  }
  // A daemon runs until it is told to stop, even with nothing to poll yet (its own timers are
  // unref'd so that tests can build one without holding the process open).
  const keepAlive = setInterval(() => {}, 1 << 30);

  const shutdown = (signal: string) => {
    if (exiting) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    exiting = true;
    logger.info({ signal }, 'stopping');
    clearInterval(keepAlive);
    daemon.stop().then(() => { logger.flush(); process.exit(0); }, (err) => {
      logger.error({ err }, 'error while stopping');
      process.exit(1);
    });
  };
  process.on('SIGHUP', () => {
    daemon.reloadTopology().catch((err) => logger.error({ reason: (err as Error).message }, 'topology not reloaded; the running one stays'));
  });
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // A rejected promise nobody handled is a bug, not a reason to stop monitoring the network.
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));

  try {
    await daemon.start();
  } catch (err) {
    logger.fatal({ err }, 'cannot start');
    clearInterval(keepAlive);
    await daemon.stop();
    return 1;
  }
  // On a person's terminal (not a log file or journald), the demo's dashboard address with its token.
  const tokenFile = join(resolve(config.daemon.dataDir), 'dashboard-token');
  if (process.stdout.isTTY && config.api && daemon.apiPort && config.sim.enabled && config.sim.dashboardToken && existsSync(tokenFile)) {
    process.stdout.write(`\nNOC dashboard: http://${config.api.host}:${daemon.apiPort}/ui/#token=${readFileSync(tokenFile, 'utf8').trim()}\n\n`);
  }
  return -1; // keep running until a signal
}

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exitCode = code;
}, (err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 2;
});
