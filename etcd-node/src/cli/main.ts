// The etcd-node command: parse flags, start the server and its client listeners, stop cleanly on
// SIGINT/SIGTERM. Returns the process exit code.
import { SERVER_VERSION } from '../server/config.js';
import { BUILD_VERSION } from '../util/build-version.js';
import { EtcdServer } from '../server/etcd-server.js';
import { serveClients, type ClientListeners } from '../api/client-listener.js';
import { clientServices, createGrpcServer } from '../api/grpc/server.js';
import { RequireLeaderGuard } from '../api/grpc/require-leader.js';
import { GrpcCallStats } from '../api/grpc/call-stats.js';
import { httpHandler } from '../api/http/endpoints.js';
import { Gateway } from '../api/http/gateway.js';
import { Metrics } from '../api/http/metrics.js';
import { createLogger } from '../util/logger.js';
import { FlagError, parseCommand, usage } from './flags.js';
import { startAutoCompaction } from './auto-compaction.js';
import { applyAutoTls } from './auto-tls.js';
import { withHttpPolicy } from './http-policy.js';

export async function main(argv: readonly string[]): Promise<number> {
  // offline subcommands, before the server's flags are parsed (loaded only when used)
  if (argv[0] === 'snapshot') return (await import('./snapshot-command.js')).snapshotCommand(argv.slice(1));
  if (argv[0] === 'backup') return (await import('./backup-command.js')).backupCommand(argv.slice(1));
  let cmd;
  try {
    cmd = parseCommand(argv, process.env);
  } catch (err) {
    if (err instanceof FlagError) {
      // etcd's exit codes: 2 for what Go's flag package refuses, 1 for what etcd's own checks refuse
      process.stderr.write(`etcd-node: ${err.message}\nRun 'etcd-node --help' for the list of flags.\n`);
      return err.exitCode;
    }
    throw err;
  }
  if (cmd.kind === 'help') {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (cmd.kind === 'version') {
    process.stdout.write(`etcd-node Version: ${BUILD_VERSION}\nAPI Version: ${SERVER_VERSION.split('.').slice(0, 2).join('.')}\nNode.js Version: ${process.version}\nOS/Arch: ${process.platform}/${process.arch}\n`);
    return 0;
  }

  const { logLevel, logOutputs, warnings } = cmd.args;
  const log = createLogger(logLevel, logOutputs);
  for (const w of warnings) log.warn(w);
  let config;
  try {
    config = applyAutoTls(cmd.args.config, log);
  } catch (err) {
    process.stderr.write(`etcd-node: --auto-tls/--peer-auto-tls: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  log.info('starting etcd-node', { version: BUILD_VERSION, 'api-version': SERVER_VERSION, name: config.name, 'data-dir': config.dataDir });

  const metrics = new Metrics();
  let server: EtcdServer;
  try {
    server = await EtcdServer.start(config, log, metrics.serverHooks());
  } catch (err) {
    log.error('failed to start', { error: err instanceof Error ? err.message : String(err) });
    process.stderr.write(`etcd-node: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  metrics.attach(server);
  const services = clientServices(server, log);
  const guard = new RequireLeaderGuard({ leaderId: () => server.leaderId() }, config.electionTimeout);
  const callStats = new GrpcCallStats();
  metrics.attachGrpc(callStats);
  const grpc = createGrpcServer(config, services, guard, callStats);
  const gateway = Gateway.forMaxRequestBytes(services, config.maxRequestBytes, log);
  let listeners: ClientListeners;
  try {
    listeners = await serveClients(grpc, withHttpPolicy(config, httpHandler(server, gateway, metrics, log)), config, log, server.whenReady);
  } catch (err) {
    process.stderr.write(`etcd-node: ${err instanceof Error ? err.message : String(err)}\n`);
    grpc.forceShutdown();
    await server.stop();
    return 1;
  }
  const stopCompaction = startAutoCompaction(server, config, log);
  // etcd says so once the member has a leader and has published itself (tools wait for this line)
  const started = server;
  void started.whenReady.then(() => log.info('ready to serve client requests', { 'member-id': started.memberId, 'cluster-id': started.clusterId }));

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info('received signal; shutting down', { signal });
      stopCompaction();
      guard.close();
      // streams that stay open (a watch, a keep-alive) keep a graceful stop waiting: after 2 s their
      // connections are closed (grpc-js's forceShutdown does not reach the sessions of injected
      // connections, so the listeners end them), and the clients see UNAVAILABLE, as etcd's do
      const force = setTimeout(() => {
        grpc.forceShutdown();
        void listeners.close();
      }, 2000);
      grpc.tryShutdown(() => {
        clearTimeout(force);
        listeners
          .close()
          .then(() => server.stop())
          .then(
          () => resolve(process.exitCode === undefined ? 0 : Number(process.exitCode)),
          (err: unknown) => {
            log.error('error while stopping', { error: String(err) });
            resolve(1);
          },
        );
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
