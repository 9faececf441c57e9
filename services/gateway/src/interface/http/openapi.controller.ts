import { Controller, Inject } from '@nestjs/common';
import { z } from 'zod';
import { ApiRoute, route } from './api-route';

export const OPENAPI_DOCUMENT = Symbol('OpenApiDocument');

export const openApiRoute = route({
  method: 'GET',
  path: '/openapi.json',
  operationId: 'getOpenApi',
  summary: 'This API described as OpenAPI 3.1',
  tag: 'meta',
  status: 200,
  response: z.record(z.string(), z.unknown()),
  errors: [],
  access: { kind: 'public' },
});

@Controller()
export class OpenApiController {
  constructor(@Inject(OPENAPI_DOCUMENT) private readonly document: Record<string, unknown>) {}

  @ApiRoute(openApiRoute)
  get() {
    return this.document;
  }
}
