import {
  type BoundedLoadMove,
  type BoundedLoadRing,
  compareRouting,
  EmptyRingError,
  HashRing,
  isDuplicateNodeError,
  isEmptyRingError,
  JumpHash,
  jumpHash,
  type NodeInput,
  type Rendezvous,
  type ReplicaRouter,
  type Router,
  type RoutingComparison,
  ShardRouter,
} from 'system-design-blocks/sharding';
import { describe, expectTypeOf, it } from 'vitest';

describe('sharding types', () => {
  it('factories are async, lookups are sync', () => {
    expectTypeOf(HashRing.create).returns.toEqualTypeOf<Promise<HashRing>>();
    expectTypeOf<HashRing['get']>().returns.toEqualTypeOf<string>();
    expectTypeOf<HashRing['getN']>().returns.toEqualTypeOf<string[]>();
    expectTypeOf(jumpHash).parameters.toEqualTypeOf<[bigint, number]>();
    expectTypeOf(jumpHash).returns.toEqualTypeOf<number>();
  });

  it('routers implement the shared interfaces', () => {
    expectTypeOf<HashRing>().toMatchTypeOf<ReplicaRouter>();
    expectTypeOf<Rendezvous>().toMatchTypeOf<ReplicaRouter>();
    expectTypeOf<JumpHash>().toMatchTypeOf<Router>();
    expectTypeOf<BoundedLoadRing>().toMatchTypeOf<Router>();
    expectTypeOf<JumpHash>().not.toMatchTypeOf<ReplicaRouter>();
    expectTypeOf<BoundedLoadRing>().not.toMatchTypeOf<ReplicaRouter>();
    expectTypeOf(compareRouting).returns.toEqualTypeOf<RoutingComparison>();
  });

  it('nodes are ids or { id, weight }; jump hashing takes ids only', () => {
    expectTypeOf<'a'>().toMatchTypeOf<NodeInput>();
    expectTypeOf<{ id: 'a'; weight: 2 }>().toMatchTypeOf<NodeInput>();
    expectTypeOf<{ weight: 2 }>().not.toMatchTypeOf<NodeInput>();
    expectTypeOf<JumpHash['add']>().parameters.toEqualTypeOf<[id: string]>();
  });

  it('ShardRouter infers the shard type and offers getN only over replica routers', async () => {
    const ring = await HashRing.create({ nodes: ['a'] });
    const shards = new ShardRouter({ router: ring, shards: { a: { region: 'kr' } } });
    expectTypeOf(shards.get('k')).toEqualTypeOf<{ region: string }>();
    expectTypeOf(shards.getN('k', 2)).toEqualTypeOf<{ region: string }[]>();
    expectTypeOf(shards.router).toEqualTypeOf<HashRing>();
    const jump = new ShardRouter({ router: await JumpHash.create({ nodes: ['a'] }), shards: { a: 1 } });
    // @ts-expect-error getN needs a router that ranks nodes
    jump.getN('k', 2);
  });

  it('guards narrow unknown errors; move events are typed', () => {
    const error: unknown = new EmptyRingError('x');
    if (isEmptyRingError(error)) expectTypeOf(error.operation).toEqualTypeOf<string>();
    if (isDuplicateNodeError(error)) expectTypeOf(error.nodeId).toEqualTypeOf<string>();
    expectTypeOf<BoundedLoadMove['reason']>().toEqualTypeOf<'capacity' | 'nodeRemoved'>();
    expectTypeOf<Parameters<BoundedLoadRing['onMove']>[0]>().parameter(0).toEqualTypeOf<BoundedLoadMove>();
  });
});
