// Reading, locking and rewriting server rows inside the server operations' transactions.
import type { Db } from '../../store/db.ts';
import type { NewServer, Server } from '../../store/schema.ts';
import type { PhoneModel } from '../catalogue.ts';
import { insertEncodeServers } from '../encode-servers.ts';
import { PHONE_STATUS, SERVER_STATUS } from '../model.ts';
import { HEX32, type Ids } from '../runtime.ts';

/** Phone statuses of an operation in progress: a server holding such a phone is not changed under it. */
const BUSY_PHONES = [PHONE_STATUS.beingCreated, PHONE_STATUS.creating, PHONE_STATUS.resetting, PHONE_STATUS.restarting, PHONE_STATUS.stopping];

/** One server of the project, locked until the transaction ends. */
export function lockServer(trx: Db, projectId: string, serverId: string): Promise<Server | undefined> {
  return trx.selectFrom('servers').selectAll().where('project_id', '=', projectId).where('id', '=', serverId).forUpdate().executeTakeFirst();
}

/** The status of each named server of the project, locked until the transaction ends; malformed ids are skipped. */
export async function lockServers(trx: Db, projectId: string, serverIds: string[]): Promise<Map<string, number>> {
  const ids = serverIds.filter((id) => HEX32.test(id));
  const found = ids.length
    ? await trx.selectFrom('servers').select(['id', 'status']).where('project_id', '=', projectId).where('id', 'in', ids).forUpdate().execute()
    : [];
  return new Map(found.map((server) => [server.id, server.status]));
}

/** Whether the server is normal and none of its phones is in the middle of an operation. */
export async function isIdle(trx: Db, server: Server): Promise<boolean> {
  if (server.status !== SERVER_STATUS.normal) return false;
  const busy = await trx.selectFrom('phones').select('id').where('server_id', '=', server.id).where('status', 'in', BUSY_PHONES).limit(1).execute();
  return busy.length === 0;
}

/** The server's row as it is written (JSON columns as text). */
export function insertable(server: Server): NewServer {
  return {
    ...server,
    addresses: JSON.stringify(server.addresses),
    security_groups: JSON.stringify(server.security_groups),
    ports: JSON.stringify(server.ports),
    volumes: JSON.stringify(server.volumes),
    extend_param: JSON.stringify(server.extend_param),
  };
}

/** Writes a changed server; its encoding servers follow its new phone flavor and addresses. */
export async function replaceServer(trx: Db, server: NewServer & { id: string }, phoneModel: PhoneModel, ids: Ids) {
  await trx.updateTable('servers').set(server).where('id', '=', server.id).execute();
  await trx.deleteFrom('encode_servers').where('server_id', '=', server.id).execute();
  await insertEncodeServers(trx, [server], phoneModel, ids);
}
