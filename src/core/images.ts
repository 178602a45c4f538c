// Custom phone images (Huawei's current SDK: ListImages, DeleteImage, AddImageMember, ListImageMembers,
// DeleteImageMember). A custom image is made from a phone and belongs to the phone's project; it carries
// the system of the catalogue image the phone runs (its base), under its own id and name. Phone data is
// not captured: a phone created or reset from a custom image starts as a fresh phone of the base image.
// The owner may share it with other projects (members), of its account or another. A member sees the image
// at once but may use it only once it has accepted the share (UpdateImageMember: "shared images that are
// not accepted cannot be used"); then it may use it as if it were its own. To anyone else it does not exist.
import type { Db } from '../store/db.ts';
import type { CustomImage, ImageMemberTable } from '../store/schema.ts';
import type { Catalogue, PhoneImage } from './catalogue.ts';
import { PHONE_STATUS } from './model.ts';
import { HEX32, wireTime, type Clock, type Ids } from './runtime.ts';
import { escapeLike } from '../store/like.ts';
import { cpsError, notFound } from './errors.ts';

/** ListImages `status`. */
export const IMAGE_STATUS = { creating: 0, production: 1, failed: 2 } as const;

/** ListImages `image_type`: the caller's own images, or images shared with it. */
export type ImageType = 'private' | 'share';

/** A member's answer to a share: `pending` until UpdateImageMember, which sets one of the other two. */
export type MemberStatus = ImageMemberTable['status'];

export interface ImageFilters {
  offset: number;
  limit: number;
  /** `public` selects nothing: public images are the catalogue's (ListCloudPhoneImages). */
  image_type?: ImageType | 'public';
  status?: number;
  image_id?: string;
  image_name?: string;
  /** Creation time bounds, inclusive. */
  create_since?: Date;
  create_until?: Date;
  src_project_id?: string;
}

/** A custom image as ListCloudPhoneImages shows it, with whose it is. */
export interface VisibleImage {
  image: PhoneImage;
  type: ImageType;
}

type Listed = CustomImage & { domain_id: string; member_status: MemberStatus | null };

/**
 * The image a phone runs, for its driver: a catalogue image, or any custom image that was ever made
 * (deleted or unshared ones included: a phone that already runs an image keeps booting from it).
 */
export async function phoneImage(db: Db, catalogue: Catalogue, imageId: string): Promise<PhoneImage | undefined> {
  const image = catalogue.image(imageId);
  if (image || !HEX32.test(imageId)) return image;
  const custom = await db.selectFrom('custom_images').selectAll().where('id', '=', imageId).executeTakeFirst();
  return custom && asPhoneImage(custom, catalogue);
}

/**
 * An image the project may put on phones (purchases, ChangeCloudPhoneServer, ResetCloudPhone,
 * RestartCloudPhone): a catalogue image, a usable custom image of its own, or one shared with it that it
 * accepted. Anything else, a pending or rejected share included, is no image of the project's: each
 * operation answers it as it answers an unknown image.
 */
export async function usableImage(db: Db, catalogue: Catalogue, projectId: string, imageId: string): Promise<PhoneImage | undefined> {
  const image = catalogue.image(imageId);
  if (image || !HEX32.test(imageId)) return image;
  const custom = await visibleTo(db, projectId, 'accepted').selectAll().where('id', '=', imageId).where('status', '=', IMAGE_STATUS.production).executeTakeFirst();
  return custom && asPhoneImage(custom, catalogue);
}

/** The custom image as a phone image: its base's system, its own id and name, private (`is_public` 2). */
function asPhoneImage(custom: CustomImage, catalogue: Catalogue): PhoneImage | undefined {
  const base = catalogue.image(custom.base_image_id);
  return base && { ...base, image_id: custom.id, image_name: custom.name, is_public: 2 };
}

/**
 * Custom images of the project and those shared with it (`shares`: whatever the project answered, or only
 * those it accepted), not deleted (nothing selected yet).
 */
function visibleTo(db: Db, projectId: string, shares: 'any' | 'accepted') {
  return db
    .selectFrom('custom_images')
    .where('deleted_at', 'is', null)
    .where((eb) => {
      let membership = eb.selectFrom('image_members').select('image_members.image_id').whereRef('image_members.image_id', '=', 'custom_images.id').where('image_members.member_id', '=', projectId);
      if (shares === 'accepted') membership = membership.where('image_members.status', '=', 'accepted');
      return eb.or([eb('custom_images.project_id', '=', projectId), eb.exists(membership)]);
    });
}

export class ImageService {
  constructor(
    private readonly db: Db,
    private readonly catalogue: Catalogue,
    private readonly clock: Clock,
    private readonly ids: Ids,
  ) {}

  /**
   * Makes a custom image of a running or stopped phone of the project. The image is usable at once; its
   * base is the catalogue image under the phone (a phone on a custom image passes that image's base on).
   */
  async create(projectId: string, phoneId: string, name: string): Promise<string> {
    if (!HEX32.test(phoneId)) throw cpsError('CPS.0004');
    const phone = await this.db.selectFrom('phones').select(['image_id', 'status']).where('project_id', '=', projectId).where('id', '=', phoneId).executeTakeFirst();
    if (!phone) throw cpsError('CPS.0005');
    if (phone.status !== PHONE_STATUS.running && phone.status !== PHONE_STATUS.stopped) throw cpsError('CPS.0165');
    const base = this.catalogue.image(phone.image_id)
      ? phone.image_id
      : (await this.db.selectFrom('custom_images').select('base_image_id').where('id', '=', phone.image_id).executeTakeFirstOrThrow()).base_image_id;
    const id = this.ids.hex32();
    const now = this.clock.now();
    await this.db
      .insertInto('custom_images')
      .values({ id, project_id: projectId, name, base_image_id: base, source_phone_id: phoneId, status: IMAGE_STATUS.production, created_at: now, updated_at: now })
      .execute();
    return id;
  }

  /**
   * ListImages: the project's custom images and those shared with it, newest first, and how many match.
   * Shares are listed whatever the member answered, so that it finds those it has yet to accept, or accepts
   * one it rejected.
   */
  async list(projectId: string, filters: ImageFilters) {
    if (filters.image_type === 'public') return { images: [], total: 0 };
    let matching = visibleTo(this.db, projectId, 'any');
    // A project is never a member of its own image, so what is not its own was shared with it.
    if (filters.image_type) matching = matching.where('project_id', filters.image_type === 'private' ? '=' : '<>', projectId);
    if (filters.status !== undefined) matching = matching.where('status', '=', filters.status);
    if (filters.image_id) matching = matching.where('id', '=', filters.image_id);
    if (filters.image_name) matching = matching.where('name', 'like', `%${escapeLike(filters.image_name)}%`);
    if (filters.create_since) matching = matching.where('created_at', '>=', filters.create_since);
    if (filters.create_until) matching = matching.where('created_at', '<=', filters.create_until);
    if (filters.src_project_id) matching = matching.where('project_id', '=', filters.src_project_id);
    const [rows, total] = await Promise.all([
      matching
        .selectAll()
        .select((eb) => eb.selectFrom('projects').select('projects.domain_id').whereRef('projects.id', '=', 'custom_images.project_id').$asScalar().$notNull().as('domain_id'))
        .select((eb) =>
          eb.selectFrom('image_members').select('image_members.status').whereRef('image_members.image_id', '=', 'custom_images.id').where('image_members.member_id', '=', projectId).$asScalar().as('member_status'),
        )
        .orderBy('seq', 'desc')
        .offset(filters.offset)
        .limit(filters.limit)
        .execute(),
      matching.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow(),
    ]);
    return { images: rows.map((row) => this.view(row, projectId)), total: Number(total.count) };
  }

  /** The project's usable custom images and those shared with it that it accepted, for ListCloudPhoneImages. */
  async phoneImages(projectId: string): Promise<VisibleImage[]> {
    const rows = await visibleTo(this.db, projectId, 'accepted').selectAll().where('status', '=', IMAGE_STATUS.production).orderBy('seq', 'desc').execute();
    return rows.flatMap((row) => {
      const image = asPhoneImage(row, this.catalogue);
      return image ? [{ image, type: row.project_id === projectId ? ('private' as const) : ('share' as const) }] : [];
    });
  }

  /** DeleteImage: the image leaves every list and can no longer be chosen; phones running it keep it. */
  async delete(projectId: string, imageId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const now = this.clock.now();
      const deleted = await trx
        .updateTable('custom_images')
        .set({ deleted_at: now, updated_at: now })
        .where('project_id', '=', projectId)
        .where('id', '=', imageId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (deleted.numUpdatedRows === 0n) throw notFound('CPS.0166');
      await trx.deleteFrom('image_members').where('image_id', '=', imageId).execute();
    });
  }

  /**
   * AddImageMember: shares the image with another existing project, of any account, which has yet to accept
   * it; sharing it again changes nothing (the member's answer stands).
   */
  async addMember(projectId: string, imageId: string, memberId: string): Promise<void> {
    await this.owned(projectId, imageId);
    if (!HEX32.test(memberId) || memberId === projectId) throw cpsError('CPS.0046');
    const project = await this.db.selectFrom('projects').select('id').where('id', '=', memberId).executeTakeFirst();
    if (!project) throw cpsError('CPS.0046');
    const now = this.clock.now();
    await this.db
      .insertInto('image_members')
      .values({ image_id: imageId, member_id: memberId, status: 'pending', created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(['image_id', 'member_id']).doNothing())
      .execute();
  }

  /**
   * UpdateImageMember: the member project accepts the image shared with it, or rejects it; it may change its
   * answer later. The owner is no member of its image (as AddImageMember refuses it: CPS.0046); an image not
   * shared with the project, deleted or unknown is not found.
   */
  async updateMember(projectId: string, imageId: string, status: Exclude<MemberStatus, 'pending'>): Promise<void> {
    const updated = await this.db
      .updateTable('image_members')
      .set({ status, updated_at: this.clock.now() })
      .where('image_id', '=', imageId)
      .where('member_id', '=', projectId)
      .executeTakeFirst();
    if (updated.numUpdatedRows > 0n) return;
    // Not a member: the owner (its own image is found) or as good as nobody (CPS.0166 from owned()).
    await this.owned(projectId, imageId);
    throw cpsError('CPS.0046');
  }

  /** ListImageMembers: the projects the image is shared with, in the order they were added. */
  async members(projectId: string, imageId: string) {
    await this.owned(projectId, imageId);
    const rows = await this.db.selectFrom('image_members').selectAll().where('image_id', '=', imageId).orderBy('created_at').orderBy('member_id').execute();
    // Member times are epoch milliseconds (int64 in the SDK), unlike the image's own times.
    return rows.map((row) => ({ create_time: row.created_at.getTime(), update_time: row.updated_at.getTime(), image_id: row.image_id, member_id: row.member_id }));
  }

  /** DeleteImageMember: the project no longer sees the image; its phones already on it keep running it. */
  async deleteMember(projectId: string, imageId: string, memberId: string): Promise<void> {
    await this.owned(projectId, imageId);
    const removed = await this.db.deleteFrom('image_members').where('image_id', '=', imageId).where('member_id', '=', memberId).executeTakeFirst();
    if (removed.numDeletedRows === 0n) throw notFound('CPS.0046');
  }

  /** The project's own image named in the path; a shared, deleted or unknown one is not found. */
  private async owned(projectId: string, imageId: string): Promise<void> {
    const image = await this.db.selectFrom('custom_images').select('id').where('project_id', '=', projectId).where('id', '=', imageId).where('deleted_at', 'is', null).executeTakeFirst();
    if (!image) throw notFound('CPS.0166');
  }

  /**
   * One element of ListImages `image_infos`; `project_id` only on own images, `src_project_id` only on shared
   * ones, and on those (OpenCPH's addition: the SDK's ListImagesView has no field for it) `member_status`.
   */
  private view(row: Listed, projectId: string) {
    const own = row.project_id === projectId;
    return {
      domain_id: row.domain_id,
      image_name: row.name,
      update_time: wireTime(row.updated_at),
      create_time: wireTime(row.created_at),
      // Nothing of the phone is captured, so the image adds no bytes of its own.
      image_size: 0,
      ...(own && { project_id: row.project_id }),
      image_id: row.id,
      image_version: this.catalogue.image(row.base_image_id)?.opencph.image_version ?? '',
      image_type: own ? ('private' as const) : ('share' as const),
      status: row.status,
      ...(!own && { src_project_id: row.project_id, member_status: row.member_status! }),
    };
  }
}

/** ListImages `create_since`/`create_until`: Unix seconds (as Terraform sends them), or milliseconds when that large. */
export function epochTime(value: number): Date {
  return new Date(value > 1e11 ? value : value * 1000);
}
