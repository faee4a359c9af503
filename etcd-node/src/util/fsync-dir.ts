// fsync of a directory: makes the creation, rename or removal of the entries in it durable (a file's own
// fsync does not cover its name in the directory).
import { open } from 'node:fs/promises';

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
