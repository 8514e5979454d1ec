import { isValidationError } from 'system-design-blocks';
import {
  BoundedLoadRing,
  HashRing,
  isEmptyRingError,
  isMissingShardError,
  JumpHash,
  Rendezvous,
  ShardRouter,
} from 'system-design-blocks/sharding';
import { describe, expect, it } from 'vitest';
import { orderKeys, thrown } from './helpers.js';

class OrderStore {
  readonly orders = new Map<string, string>();
  constructor(readonly region: string) {}
}

describe('ShardRouter', () => {
  it('hands back the shard of the node the router picks, from a record or a Map', async () => {
    const ring = await HashRing.create({ nodes: ['kr', 'jp', 'tw'] });
    const stores = { kr: new OrderStore('kr'), jp: new OrderStore('jp'), tw: new OrderStore('tw') };
    const byRecord = new ShardRouter({ router: ring, shards: stores });
    const byMap = new ShardRouter({ router: ring, shards: new Map(Object.entries(stores)) });
    for (const key of orderKeys(200)) {
      const node = ring.get(key);
      expect(byRecord.nodeOf(key)).toBe(node);
      expect(byRecord.get(key)).toBe(stores[node as keyof typeof stores]);
      expect(byMap.get(key)).toBe(byRecord.get(key));
    }
    expect([...byRecord.shards().keys()].sort()).toEqual(['jp', 'kr', 'tw']);
  });

  it('ranks shards with getN for routers that rank nodes', async () => {
    for (const router of [
      await HashRing.create({ nodes: ['a', 'b', 'c'] }),
      await Rendezvous.create({ nodes: ['a', 'b', 'c'] }),
    ]) {
      const shards = new ShardRouter({ router, shards: { a: 'A', b: 'B', c: 'C' } });
      for (const key of orderKeys(50)) {
        expect(shards.getN(key, 2)).toEqual(router.getN(key, 2).map((id) => id.toUpperCase()));
      }
    }
  });

  it('works over JumpHash and BoundedLoadRing too', async () => {
    const jump = new ShardRouter({ router: await JumpHash.create({ nodes: ['a', 'b'] }), shards: { a: 1, b: 2 } });
    const bounded = new ShardRouter({
      router: await BoundedLoadRing.create({ nodes: ['a', 'b'] }),
      shards: { a: 1, b: 2 },
    });
    for (const key of orderKeys(20)) {
      expect([1, 2]).toContain(jump.get(key));
      expect([1, 2]).toContain(bounded.get(key));
    }
  });

  it('follows nodes added to the router once their shard is registered', async () => {
    const ring = await HashRing.create({ nodes: ['kr'] });
    const shards = new ShardRouter({ router: ring, shards: { kr: new OrderStore('kr') } });
    ring.add('jp');
    const keys = orderKeys(200);
    const toJp = keys.find((k) => ring.get(k) === 'jp') as string;
    expect(isMissingShardError(thrown(() => shards.get(toJp)))).toBe(true);
    shards.setShard('jp', new OrderStore('jp'));
    expect(shards.get(toJp).region).toBe('jp');
  });

  it('refuses to forget the shard of a node still on the router', async () => {
    const ring = await HashRing.create({ nodes: ['kr', 'jp'] });
    const shards = new ShardRouter({ router: ring, shards: { kr: 1, jp: 2 } });
    expect(isValidationError(thrown(() => shards.deleteShard('jp')))).toBe(true);
    expect(shards.shard('jp')).toBe(2);
    ring.remove('jp');
    expect(shards.deleteShard('jp')).toBe(true);
    expect(shards.deleteShard('jp')).toBe(false);
    expect(isMissingShardError(thrown(() => shards.shard('jp')))).toBe(true);
  });

  it('keeps falsy shards', async () => {
    const ring = await HashRing.create({ nodes: ['zero'] });
    const shards = new ShardRouter({ router: ring, shards: { zero: 0 } });
    expect(shards.get('k')).toBe(0);
  });

  it('rejects a router without shards for all its nodes, a non-router, and bad calls', async () => {
    const ring = await HashRing.create({ nodes: ['a', 'b'] });
    const missing = thrown(() => new ShardRouter({ router: ring, shards: { a: 1 } }));
    expect(isValidationError(missing) && missing.argument).toBe('options.shards');
    expect(isValidationError(thrown(() => new ShardRouter({ router: {} as HashRing, shards: {} })))).toBe(true);
    expect(isValidationError(thrown(() => new ShardRouter({ router: ring, shards: null as never })))).toBe(true);
    const shards = new ShardRouter({ router: ring, shards: { a: 1, b: 2 } });
    expect(isValidationError(thrown(() => shards.getN('k', 0)))).toBe(true);
    expect(isValidationError(thrown(() => shards.setShard('', 3)))).toBe(true);
    const empty = new ShardRouter({ router: await HashRing.create(), shards: {} });
    expect(isEmptyRingError(thrown(() => empty.get('k')))).toBe(true);
  });
});
