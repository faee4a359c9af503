// --auto-tls / --peer-auto-tls, as etcd does them: when no certificate files are given, a self-signed
// certificate for the hosts of the listen URLs is made (or the one made before is reused) under
// <data-dir>/fixtures/client and <data-dir>/fixtures/peer, and used as if given with --cert-file/--key-file
// (--peer-cert-file/--peer-key-file). Peers then skip verifying each other's certificates (they have no
// CA to verify them by), as etcd's self-signed TLS does.
import path from 'node:path';
import type { ServerConfig } from '../server/config.js';
import type { Logger } from '../util/logger.js';
import { ensureSelfCert } from '../util/self-cert.js';

const hosts = (urls: readonly URL[]): string[] => urls.map((u) => u.hostname);

export function applyAutoTls(cfg: ServerConfig, log: Logger): ServerConfig {
  let tls = cfg.tls;
  const validityYears = tls.selfSignedCertValidity ?? 1;
  if (tls.autoTls) {
    if (tls.certFile !== undefined) {
      log.warn('ignoring client auto TLS since certs given');
    } else {
      const dir = path.join(cfg.dataDir, 'fixtures', 'client');
      const urls = [...cfg.listenClientUrls, ...(cfg.listenClientHttpUrls ?? [])];
      const made = ensureSelfCert(dir, { hosts: hosts(urls), validityYears });
      log.info(made.created ? 'created self-signed client certificate (--auto-tls)' : 'reusing self-signed client certificate (--auto-tls)', { cert: made.certFile });
      tls = { ...tls, certFile: made.certFile, keyFile: made.keyFile };
    }
  }
  if (tls.peerAutoTls) {
    if (tls.peerCertFile !== undefined) {
      log.warn('ignoring peer auto TLS since certs given');
    } else {
      const dir = path.join(cfg.dataDir, 'fixtures', 'peer');
      const made = ensureSelfCert(dir, { hosts: hosts(cfg.listenPeerUrls), validityYears, clientAuth: true });
      log.info(made.created ? 'created self-signed peer certificate (--peer-auto-tls)' : 'reusing self-signed peer certificate (--peer-auto-tls)', { cert: made.certFile });
      tls = { ...tls, peerCertFile: made.certFile, peerKeyFile: made.keyFile, peerSelfSigned: true };
    }
  }
  return tls === cfg.tls ? cfg : { ...cfg, tls };
}
