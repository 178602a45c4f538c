import { Command } from 'commander';
import { serve } from './cli/serve.ts';
import { iamCommands } from './cli/iam.ts';
import { objectsCommands } from './cli/objects.ts';

const program = new Command('opencph').description('OpenCPH: a self-hosted, Huawei Cloud CPH-compatible cloud phone platform');

program
  .command('serve')
  .description('run the API server and job workers (configuration: see README)')
  .option('-p, --port <port>', 'port to listen on (env PORT, default 8443)')
  .option('--host <host>', 'address to listen on (env HOST, default 127.0.0.1)')
  .option('--data-dir <dir>', 'data directory (env OPENCPH_DATA_DIR, default ./data)')
  .action((flags: { port?: string; host?: string; dataDir?: string }) => serve(flags));

iamCommands(program);
objectsCommands(program);

await program.parseAsync(process.argv);
