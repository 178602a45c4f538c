import { Type, type Static } from '@sinclair/typebox';
import { coded, jobEntry, paging } from '../../schema.ts';

/** Empty: CPS.0095; not a list of strings: CPS.0094; more than 100 servers: CPS.0096 (checked by the service). */
const ServerIds = coded(Type.Array(coded(Type.String(), 'CPS.0094')), 'CPS.0094', 'CPS.0095');
/** The bucket's rule is the object store's (spec §8 row 30: upper case is accepted). */
const BucketName = coded(Type.String({ minLength: 1 }), 'CPS.0134', 'CPS.0134');
/** Only `.tar` objects; the characters the document lists. */
const ObjectPath = coded(Type.String({ minLength: 1, maxLength: 1024, pattern: '^[A-Za-z0-9./_+#=-]*\\.[Tt][Aa][Rr]$' }), 'CPS.0135', 'CPS.0135');
const PackageName = coded(Type.String({ pattern: '^(?=.{1,128}$)(?=[^.]*\\.)[A-Za-z.][A-Za-z0-9_.]*[A-Za-z0-9_]$' }), 'CPS.0173', 'CPS.0173');

export const PushFilesBody = Type.Object({ bucket_name: BucketName, object_path: ObjectPath, server_ids: ServerIds });

/**
 * Absolute, at most 4,096 bytes of letters, digits, `. / - _ =` and spaces, no `..` component. A path of
 * slashes only (the whole shared storage) is refused like ListShareFiles' `path`. At most 100 paths a
 * request (spec §8 row 41's reading for lists).
 */
const FilePath = coded(Type.String({ maxLength: 4096, pattern: '^(?!/+$)(?!(?:.*/)?\\.\\.(?:/|$))/[A-Za-z0-9./ _=-]*$' }), 'CPS.0155');
export const DeleteFilesBody = Type.Object({
  file_paths: coded(Type.Array(FilePath, { minItems: 1, maxItems: 100 }), 'CPS.0155', 'CPS.0155'),
  server_ids: ServerIds,
});

/**
 * PushShareFiles and DeleteShareFiles share method and path: a body with `file_paths` is a delete
 * (README "same method + path, two operations"), validated as one; any other body is a push.
 */
export const ShareFilesBody = coded(
  Type.Unsafe<Static<typeof PushFilesBody> | Static<typeof DeleteFilesBody>>({ type: 'object', if: { required: ['file_paths'] }, then: DeleteFilesBody, else: PushFilesBody }),
  'CPS.0134',
);

/** Starts with `/`, is not only slashes, holds no `//` and no `..` component; letters, digits and `. + - _ / =`. */
const ListPath = coded(Type.String({ minLength: 1, maxLength: 4096, pattern: '^(?!/+$)(?!.*//)(?!(?:.*/)?\\.\\.(?:/|$))/[A-Za-z0-9.+_/=-]*$' }), 'CPS.0199', 'CPS.0199');

export const ShareJobs = Type.Object({ request_id: Type.String(), jobs: Type.Array(jobEntry('server_id')) });

/** ListShareFiles: `server_ids` is one comma-separated text. */
export const ListShareFilesQuery = Type.Object({ path: ListPath, server_ids: coded(Type.String({ minLength: 1 }), 'CPS.0094', 'CPS.0095'), ...paging(100) });

export const PushShareAppBody = coded(
  Type.Object({
    package_name: PackageName,
    pre_install_app: Type.Optional(coded(Type.Integer({ minimum: 0, maximum: 1 }), 'CPS.0148')),
    bucket_name: BucketName,
    object_path: ObjectPath,
    server_ids: ServerIds,
  }),
  'CPS.0173',
);

export const DeleteShareAppBody = coded(Type.Object({ package_name: PackageName, server_ids: ServerIds }), 'CPS.0173');
