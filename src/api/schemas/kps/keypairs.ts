// Huawei KPS key pairs (`/v3/{project_id}/keypairs`): the request and response shapes of the Python SDK's
// models, with OpenCPH's own KPS codes (docs/kps-notes.md).
import { Type } from '@sinclair/typebox';
import { FINITE_KEYWORD, coded } from '../../schema.ts';

/** 1–255 bytes of letters, digits, `_` and `-` (the current CreateKeypair pages; docs/kps-notes.md). */
export const KEYPAIR_NAME = '^[A-Za-z0-9_-]{1,255}$';

// No stored name holds what a name in the path may (U+0000): such a name is a key pair that does not exist.
export const KeypairParams = Type.Object({ project_id: Type.String(), keypair_name: coded(Type.String(), 'KPS.0006') });

const Encryption = coded(
  Type.Object({
    type: coded(Type.Union([Type.Literal('default'), Type.Literal('kms')]), 'KPS.0010'),
    kms_key_name: Type.Optional(coded(Type.String({ maxLength: 255 }), 'KPS.0010')),
    kms_key_id: Type.Optional(coded(Type.String({ maxLength: 255 }), 'KPS.0010')),
  }),
  'KPS.0010',
);

export const KeyProtection = coded(
  Type.Object({
    private_key: Type.Optional(coded(Type.String({ maxLength: 16_384 }), 'KPS.0010')),
    encryption: Encryption,
  }),
  'KPS.0010',
);

export const CreateKeypairAction = coded(
  Type.Object({
    name: coded(Type.String({ pattern: KEYPAIR_NAME }), 'KPS.0002'),
    type: Type.Optional(coded(Type.Union([Type.Literal('ssh'), Type.Literal('x509')]), 'KPS.0009')),
    public_key: Type.Optional(coded(Type.String({ minLength: 1, maxLength: 16_384 }), 'KPS.0003')),
    scope: Type.Optional(coded(Type.Union([Type.Literal('user'), Type.Literal('domain')]), 'KPS.0009')),
    user_id: Type.Optional(coded(Type.String({ maxLength: 64 }), 'KPS.0009')),
    key_protection: Type.Optional(KeyProtection),
  }),
  'KPS.0001',
);

export const CreateKeypairBody = coded(Type.Object({ keypair: CreateKeypairAction }), 'KPS.0001');

export const CreateKeypairAnswer = Type.Object({
  keypair: Type.Object({
    name: Type.String(),
    type: Type.String(),
    public_key: Type.String(),
    /** Only when the key was generated: its one copy unless hosted. */
    private_key: Type.Optional(Type.String()),
    fingerprint: Type.String(),
    user_id: Type.String(),
  }),
});

// The SDK sends `limit` as a string; the newest pages give 1–1000, default 1000.
export const ListKeypairsQuery = coded(
  Type.Object({
    limit: Type.Optional(coded(Type.Integer({ minimum: 1, maximum: 1000, [FINITE_KEYWORD]: true }), 'KPS.0008')),
    marker: Type.Optional(coded(Type.String({ maxLength: 255 }), 'KPS.0008')),
  }),
  'KPS.0008',
);

export const ListKeypairsAnswer = Type.Object({
  keypairs: Type.Array(
    Type.Object({
      keypair: Type.Object({
        name: Type.String(),
        type: Type.String(),
        scope: Type.String(),
        public_key: Type.String(),
        fingerprint: Type.String(),
        is_key_protection: Type.Boolean(),
        /** A string in the list, an integer in the detail (both SDKs). */
        frozen_state: Type.String(),
      }),
    }),
  ),
  page_info: Type.Object({
    next_marker: Type.Optional(Type.String()),
    previous_marker: Type.Optional(Type.String()),
    current_count: Type.Integer(),
  }),
});

export const KeypairDetailAnswer = Type.Object({
  keypair: Type.Object({
    name: Type.String(),
    id: Type.Integer(),
    type: Type.String(),
    scope: Type.String(),
    public_key: Type.String(),
    fingerprint: Type.String(),
    is_key_protection: Type.Boolean(),
    deleted: Type.Boolean(),
    description: Type.String(),
    user_id: Type.String(),
    /** Milliseconds since 1970, as Terraform reads them (docs/kps-notes.md). */
    create_time: Type.Integer(),
    delete_time: Type.Integer(),
    update_time: Type.Integer(),
    frozen_state: Type.Integer(),
    key_id: Type.String(),
    algorithm: Type.String(),
  }),
});

export const UpdateKeypairDescriptionBody = coded(
  Type.Object({ keypair: coded(Type.Object({ description: coded(Type.String({ maxLength: 255 }), 'KPS.0007') }), 'KPS.0001') }),
  'KPS.0001',
);
