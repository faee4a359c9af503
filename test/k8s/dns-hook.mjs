// Loaded with `node --import` into the processes the pod runner starts (and usable by an operator under
// test): names listed in the hosts file named by ETCD_TS_HOSTS_FILE resolve to their addresses, as
// cluster DNS would resolve pod names; every other name goes to the system resolver. The file is read
// again on every lookup, so pods that appear later resolve too. Nothing on the machine is edited.
import dns from 'node:dns';
import { readFileSync } from 'node:fs';

const file = process.env.ETCD_TS_HOSTS_FILE;
if (file) {
  const find = (name) => {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
    for (const line of text.split('\n')) {
      const [ip, ...names] = line.trim().split(/\s+/);
      if (ip && names.includes(name)) return ip;
    }
    return undefined;
  };
  const original = dns.lookup;
  dns.lookup = function lookup(hostname, options, callback) {
    const cb = typeof options === 'function' ? options : callback;
    const opts = typeof options === 'object' && options !== null ? options : {};
    const ip = typeof hostname === 'string' ? find(hostname.replace(/\.$/, '')) : undefined;
    if (ip === undefined) return original.call(dns, hostname, options, callback);
    process.nextTick(() => (opts.all ? cb(null, [{ address: ip, family: 4 }]) : cb(null, ip, 4)));
    return {};
  };
  const originalPromise = dns.promises.lookup;
  dns.promises.lookup = async function lookup(hostname, options) {
    const ip = typeof hostname === 'string' ? find(hostname.replace(/\.$/, '')) : undefined;
    if (ip === undefined) return originalPromise.call(dns.promises, hostname, options);
    return options && options.all ? [{ address: ip, family: 4 }] : { address: ip, family: 4 };
  };
}
