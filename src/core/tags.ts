// Resource tags (Huawei's current SDK: BatchCreateTags, BatchDeleteTags, ListResourceTags, ListProjectTags,
// ListResourceInstances). The one taggable resource type is `cph-server`. Creating is idempotent and a key
// given again takes the new value; deleting a tag that is not there succeeds. A server's tags go with it.
import type { Static } from '@sinclair/typebox';
import type { ExpressionBuilder } from 'kysely';
import type { TagItem } from '../api/schemas/cph/tags.ts';
import type { Db } from '../store/db.ts';
import type { Database } from '../store/schema.ts';
import { HEX32, type Clock } from './runtime.ts';
import { cpsError, notFound, type CpsCode } from './errors.ts';

/** The `resource_type` path values the SDK documents. */
export const TAG_RESOURCE_TYPES = ['cph-server'] as const;

/** Most tags one server may carry (CPS.0307), as on Huawei's other services (TMS). */
export const MAX_TAGS_PER_SERVER = 20;
/** ListResourceInstances: at most 10 keys, each with at most 10 values (CPS.0309, CPS.0310). */
export const MAX_FILTER_KEYS = 10;
export const MAX_FILTER_VALUES = 10;

export interface Tag {
  key: string;
  value: string;
}

export type TagInput = Static<typeof TagItem>;

export interface TagFilter {
  action: 'filter' | 'count';
  offset: number;
  limit: number;
  without_any_tag?: boolean;
  tags?: Array<{ key: string; values: string[] }>;
  /** Exact server names (`matches` with key `resource_name`); a server must match them all. */
  resource_names?: string[];
}

// Letters and digits of any language, spaces and `_.:=+-@` (the SDK's Tag documentation).
const TAG_TEXT = /^[\p{L}\p{M}\p{N} _.:=+\-@]+$/u;

/** Why a tag key is refused, if it is: 1–127 characters, no space at either end, not `_sys_…`. */
function keyRefusal(key: string): CpsCode | undefined {
  if (!isTagText(key, 127)) return 'CPS.0304';
  if (key.startsWith('_sys_')) return 'CPS.0306';
  return undefined;
}

function isTagText(text: string, maxChars: number): boolean {
  const chars = [...text].length;
  return chars >= 1 && chars <= maxChars && TAG_TEXT.test(text) && text.trim() === text;
}

export class TagService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** BatchCreateTags: all tags are checked first; the server then holds at most MAX_TAGS_PER_SERVER. */
  async create(projectId: string, resourceType: string, serverId: string, tags: TagInput[]): Promise<void> {
    checkResource(resourceType, serverId);
    await this.db.transaction().execute(async (trx) => {
      // Locking the server keeps two concurrent requests from passing the limit together.
      const server = await trx.selectFrom('servers').select('id').where('project_id', '=', projectId).where('id', '=', serverId).forUpdate().executeTakeFirst();
      if (!server) throw notFound('CPS.0302');
      if (tags.length === 0 || new Set(tags.map((tag) => tag.key)).size !== tags.length) throw cpsError('CPS.0303');
      for (const tag of tags) {
        const refusal = keyRefusal(tag.key) ?? (isTagText(tag.value ?? '', 255) ? undefined : 'CPS.0305');
        if (refusal) throw cpsError(refusal);
      }
      const existing = await trx.selectFrom('server_tags').select('key').where('server_id', '=', serverId).execute();
      const keys = new Set([...existing.map((tag) => tag.key), ...tags.map((tag) => tag.key)]);
      if (keys.size > MAX_TAGS_PER_SERVER) throw cpsError('CPS.0307');
      const now = this.clock.now();
      await trx
        .insertInto('server_tags')
        .values(tags.map((tag) => ({ server_id: serverId, project_id: projectId, key: tag.key, value: tag.value!, created_at: now })))
        .onConflict((oc) => oc.columns(['server_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
        .execute();
    });
  }

  /** BatchDeleteTags: a tag named with a value goes only if its value is that one. */
  async delete(projectId: string, resourceType: string, serverId: string, tags: TagInput[]): Promise<void> {
    checkResource(resourceType, serverId);
    await this.assertServer(projectId, serverId);
    if (tags.length === 0) throw cpsError('CPS.0303');
    for (const tag of tags) {
      const refusal = keyRefusal(tag.key) ?? (tag.value && !isTagText(tag.value, 255) ? 'CPS.0305' : undefined);
      if (refusal) throw cpsError(refusal);
    }
    await this.db
      .deleteFrom('server_tags')
      .where('server_id', '=', serverId)
      .where((eb) => eb.or(tags.map((tag) => (tag.value ? eb.and([eb('key', '=', tag.key), eb('value', '=', tag.value)]) : eb('key', '=', tag.key)))))
      .execute();
  }

  /** ListResourceTags: the server's tags by key. */
  async ofServer(projectId: string, resourceType: string, serverId: string): Promise<Tag[]> {
    checkResource(resourceType, serverId);
    await this.assertServer(projectId, serverId);
    return this.db.selectFrom('server_tags').select(['key', 'value']).where('server_id', '=', serverId).orderBy('key').execute();
  }

  /** ListProjectTags: every key used on the project's servers with its values; a page of keys and their count. */
  async ofProject(projectId: string, resourceType: string, offset: number, limit: number) {
    checkResourceType(resourceType);
    const rows = await this.db.selectFrom('server_tags').select(['key', 'value']).distinct().where('project_id', '=', projectId).orderBy('key').orderBy('value').execute();
    const byKey = new Map<string, string[]>();
    for (const row of rows) byKey.set(row.key, [...(byKey.get(row.key) ?? []), row.value]);
    const tags = [...byKey].map(([key, values]) => ({ key, values }));
    return { tags: tags.slice(offset, offset + limit), total_count: tags.length };
  }

  /**
   * ListResourceInstances: the project's servers that carry every key asked for (with one of its values,
   * when values are given), or that carry no tag at all (`without_any_tag`), newest first.
   */
  async filter(projectId: string, resourceType: string, filter: TagFilter) {
    checkResourceType(resourceType);
    checkFilterTags(filter.tags ?? []);
    let matching = this.db.selectFrom('servers').where('servers.project_id', '=', projectId);
    for (const name of filter.resource_names ?? []) matching = matching.where('servers.name', '=', name);
    // The server's tags (with that key, and one of those values when given).
    const tagged = (eb: ExpressionBuilder<Database, 'servers'>, key?: string, values: string[] = []) =>
      eb
        .selectFrom('server_tags')
        .select('server_tags.key')
        .whereRef('server_tags.server_id', '=', 'servers.id')
        .$if(key !== undefined, (q) => q.where('server_tags.key', '=', key!))
        .$if(values.length > 0, (q) => q.where('server_tags.value', 'in', values));
    if (filter.without_any_tag) {
      matching = matching.where((eb) => eb.not(eb.exists(tagged(eb))));
    } else {
      for (const tag of filter.tags ?? []) matching = matching.where((eb) => eb.exists(tagged(eb, tag.key, tag.values)));
    }
    const total = await matching.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow();
    if (filter.action === 'count') return { total_count: Number(total.count) };
    const servers = await matching.select(['servers.id', 'servers.name']).orderBy('servers.seq', 'desc').offset(filter.offset).limit(filter.limit).execute();
    const tags = servers.length
      ? await this.db.selectFrom('server_tags').select(['server_id', 'key', 'value']).where('server_id', 'in', servers.map((s) => s.id)).orderBy('key').execute()
      : [];
    return {
      resources: servers.map((server) => ({
        resource_id: server.id,
        resource_detail: '',
        resource_name: server.name,
        tags: tags.filter((tag) => tag.server_id === server.id).map(({ key, value }) => ({ key, value })),
      })),
      total_count: Number(total.count),
    };
  }

  private async assertServer(projectId: string, serverId: string): Promise<void> {
    const server = await this.db.selectFrom('servers').select('id').where('project_id', '=', projectId).where('id', '=', serverId).executeTakeFirst();
    if (!server) throw notFound('CPS.0302');
  }
}

function checkResourceType(resourceType: string): void {
  if (!(TAG_RESOURCE_TYPES as readonly string[]).includes(resourceType)) throw cpsError('CPS.0300');
}

function checkResource(resourceType: string, resourceId: string): void {
  checkResourceType(resourceType);
  if (!HEX32.test(resourceId)) throw cpsError('CPS.0301');
}

/** The `tags` of ListResourceInstances: distinct valid keys, each with distinct valid values, within the limits. */
function checkFilterTags(tags: Array<{ key: string; values: string[] }>): void {
  if (tags.length > MAX_FILTER_KEYS) throw cpsError('CPS.0309');
  if (new Set(tags.map((tag) => tag.key)).size !== tags.length) throw cpsError('CPS.0303');
  for (const tag of tags) {
    if (!isTagText(tag.key, 127)) throw cpsError('CPS.0304');
    if (tag.values.length > MAX_FILTER_VALUES) throw cpsError('CPS.0310');
    if (new Set(tag.values).size !== tag.values.length || tag.values.some((value) => !isTagText(value, 255))) throw cpsError('CPS.0315');
  }
}
