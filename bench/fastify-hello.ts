// Baselines for the HTTP benchmarks: the smallest Fastify server, on the port given as argument.
// `/` answers a hello-world; `/page` answers the bytes of the file given as second argument (a page the
// real server produced), which is the most any server can do for that page: send it.
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
const page = process.argv[3] ? readFileSync(process.argv[3]) : undefined;
if (page) app.get('/page', async (_request, reply) => reply.type('application/json').send(page));
await app.listen({ port: Number(process.argv[2]), host: '127.0.0.1' });
process.stdout.write('ready\n');
