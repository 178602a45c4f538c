// The Fastify instance every route file is given, and what the API adds to Fastify's requests and route
// settings. Route files import it from here, not from app.ts, which imports them.
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Principal } from '../core/iam.ts';
import type { PendingSignature } from './auth/authenticate.ts';

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: Buffer;
    principal?: Principal;
    /** An AK/SK request whose signature is checked once its body has arrived, before it is parsed. */
    signature?: PendingSignature;
  }
  interface FastifyContextConfig {
    /** 'project': a CPH route with `{project_id}`; 'any': any valid credential; 'none': public. */
    auth?: 'project' | 'any' | 'none';
    /** The IAM action that authorises the operation: every KooPhone route (spec §4.2) and every KPS route. */
    iamAction?: string;
  }
}

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;
