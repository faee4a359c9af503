// The etcd-operator command: the operator itself (manager.ts), or one of its subcommands: the backup
// agent of one EtcdBackup (backup-agent.ts) and the store checker (backup-check.ts).
import { backupAgentMain } from './backup-agent.js';
import { backupCheckMain } from './backup-check.js';
import { managerMain } from './manager.js';

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'backup-agent') return backupAgentMain(argv.slice(1));
  if (argv[0] === 'backup' && argv[1] === 'check') return backupCheckMain(argv.slice(2));
  if (argv[0] === 'backup') {
    process.stderr.write(`etcd-operator: unknown command "backup ${argv[1] ?? ''}" (did you mean "backup check"?)\n`);
    return 2;
  }
  return managerMain(argv);
}
