// Test certificates made with openssl: a CA, a server certificate for 127.0.0.1/localhost, and client
// certificates whose common names are the given user names (etcd maps a client certificate's CN to a
// user when auth is on).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tool } from './servers.js';

/** Writes ca.{crt,key}, server.{crt,key} and <cn>.{crt,key} for every client into dir. */
export function makePki(dir: string, clients: readonly string[]): void {
  const openssl = tool('openssl');
  const run = (args: string[]): void => {
    execFileSync(openssl, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=etcd-ts test CA']);
  const sign = (name: string, cn: string, ext: string): void => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    run(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    run(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
  };
  sign('server', 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  for (const cn of clients) sign(cn, cn, 'extendedKeyUsage=clientAuth\n');
}
