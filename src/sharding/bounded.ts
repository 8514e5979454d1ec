/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup & Zadimoghaddam, SODA 2018).
 */
import { Emitter, initHashing, type Subscribe } from '../core/index.js';
import { invalid, optionsObject } from '../core/validation.js';
import { DuplicateNodeError, EmptyRingError, UnknownNodeError } from './errors.js';
import { resolveRingOptions } from './hash-ring.js';
import { checkKey, checkNodeId, parseNode } from './internal.js';
import { checkRingRoom, keyPosition, RingCore } from './ring-core.js';
import type { NodeInput, Router, ShardKey } from './types.js';

/** Options of {@link BoundedLoadRing.create}. */
export interface BoundedLoadRingOptions {
  /** The nodes to start with: ids (weight 1) or `{ id, weight }`. @defaultValue [] */
  readonly nodes?: readonly NodeInput[];
  /** Points per node per unit of weight, as for {@link HashRing}. @defaultValue 160 */
  readonly virtualNodes?: number;
  /**
   * The bound `c` (a finite number ≥ 1): no node holds more than ⌈c · assigned · weight / total weight⌉ keys
   * (⌈c · assigned / nodes⌉ with equal weights). Lower is more even but moves more keys on each change;
   * 1 is perfect balance.
   * @defaultValue 1.25
   */
  readonly loadFactor?: number;
}

/** Why a {@link BoundedLoadRing} moved an assigned key. */
export type BoundedLoadMoveReason =
  /** The key's node went over its cap (after a release or an added node lowered it) and shed the key. */
  | 'capacity'
  /** The key's node was removed. */
  | 'nodeRemoved';

/** An assigned key that a {@link BoundedLoadRing} moved to another node. */
export interface BoundedLoadMove {
  /** The key. */
  readonly key: ShardKey;
  /** The node that held it. */
  readonly from: string;
  /** The node that holds it now. */
  readonly to: string;
  /** Why it moved. */
  readonly reason: BoundedLoadMoveReason;
}

/** Nodes of one weight: they share a cap. `counts[load]` is how many of them hold `load` keys. */
interface WeightGroup {
  readonly weight: number;
  readonly ranks: number[];
  readonly counts: number[];
  max: number;
}

interface Assignment {
  readonly key: ShardKey;
  readonly position: number;
  /** The node's id (ranks shift when nodes come and go; ids do not). */
  node: string;
  /** Index in its node's member list, for O(1) removal. */
  slot: number;
}

/** Map key of a byte key: one char per byte, kept apart from string keys by living in its own map. */
function bytesId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/**
 * A consistent-hash ring that caps every node's load: `assign(key)` walks clockwise from the key's hash past
 * any node already at its cap ⌈c · assigned / nodes⌉ (the key being assigned counted), so hot spots spill
 * over to the next nodes instead of overloading one. Assignments are sticky until `release`; to keep the cap
 * after a release, an added node or a removed one, the ring moves the fewest keys it needs and reports each
 * on {@link BoundedLoadRing.onMove}. It never refuses a key: with c ≥ 1 some node is always below its cap.
 *
 * @example
 * ```ts
 * import { BoundedLoadRing } from 'system-design-blocks/sharding';
 *
 * const ring = await BoundedLoadRing.create({ nodes: ['ws-1', 'ws-2', 'ws-3'], loadFactor: 1.25 });
 * const moved = ring.onMove((m) => console.log(`${String(m.key)}: ${m.from} → ${m.to}`));
 * for (let i = 0; i < 100; i++) ring.assign(`session-${i}`);
 * console.log(Math.max(...ring.loads().values()) <= Math.ceil((1.25 * 100) / 3)); // true
 * ring.release('session-7');
 * moved.dispose();
 * ```
 */
export class BoundedLoadRing implements Router {
  /** The bound `c`. */
  readonly loadFactor: number;
  #core: RingCore;
  #totalWeight: number;
  /** Load and members by rank, spliced as ranks shift. */
  #loads: number[];
  #members: Assignment[][];
  /** Nodes grouped by weight (they share a cap), with each group's highest load, so a release checks the cap in O(groups). */
  #groups: WeightGroup[] = [];
  /** Group index by rank. */
  #groupOf: number[] = [];
  #byString = new Map<string, Assignment>();
  #byBytes = new Map<string, Assignment>();
  #assigned = 0;
  readonly #moved = new Emitter<BoundedLoadMove>();

  /**
   * Subscribes to keys moved by the ring itself (after `release`, `add` or `remove`), to migrate what
   * belongs to them. Listeners run after the operation has completed. Returns a disposable.
   */
  readonly onMove: Subscribe<BoundedLoadMove> = this.#moved.subscribe;

  private constructor(core: RingCore, loadFactor: number) {
    this.#core = core;
    this.loadFactor = loadFactor;
    this.#totalWeight = core.weights.reduce((a, b) => a + b, 0);
    this.#loads = core.ids.map(() => 0);
    this.#members = core.ids.map(() => []);
    this.#regroup();
  }

  /** Rebuilds the weight groups from the current loads (after nodes come or go: ranks shift). */
  #regroup(): void {
    const byWeight = new Map<number, number>();
    this.#groups = [];
    this.#groupOf = this.#core.weights.map((weight, rank) => {
      let index = byWeight.get(weight);
      if (index === undefined) {
        index = this.#groups.length;
        byWeight.set(weight, index);
        this.#groups.push({ weight, ranks: [], counts: [], max: 0 });
      }
      const group = this.#groups[index] as WeightGroup;
      const load = this.#loads[rank] as number;
      group.ranks.push(rank);
      group.counts[load] = (group.counts[load] ?? 0) + 1;
      group.max = Math.max(group.max, load);
      return index;
    });
  }

  /** Moves node `rank`'s load by ±1, keeping its group's load histogram and maximum. */
  #shift(rank: number, delta: 1 | -1): void {
    const old = this.#loads[rank] as number;
    const load = old + delta;
    this.#loads[rank] = load;
    const group = this.#groups[this.#groupOf[rank] as number] as WeightGroup;
    group.counts[old] = (group.counts[old] as number) - 1;
    group.counts[load] = (group.counts[load] ?? 0) + 1;
    // Loads move one step at a time, so a maximum that empties leaves the next one down occupied.
    if (load > group.max) group.max = load;
    else if (old === group.max && group.counts[old] === 0) group.max = load;
  }

  /**
   * Creates a bounded-load ring. Awaits the hash function's one-time initialisation; synchronous after.
   *
   * @param options - Nodes, virtual nodes and load factor; validated here.
   * @throws {@link ValidationError} on a bad option (a load factor below 1 among them);
   * {@link DuplicateNodeError} when an id is given twice.
   * @example
   * ```ts
   * import { BoundedLoadRing } from 'system-design-blocks/sharding';
   *
   * const ring = await BoundedLoadRing.create({ nodes: ['a', 'b'] });
   * console.log(ring.loadFactor); // 1.25
   * ```
   */
  static async create(options?: BoundedLoadRingOptions): Promise<BoundedLoadRing> {
    const o = optionsObject(options, 'options');
    const loadFactor = o.loadFactor ?? 1.25;
    if (typeof loadFactor !== 'number' || !Number.isFinite(loadFactor) || loadFactor < 1) {
      invalid('options.loadFactor', 'a finite number >= 1', loadFactor);
    }
    const { nodes, virtualNodes } = resolveRingOptions(o, 'options');
    await initHashing();
    return new BoundedLoadRing(RingCore.build(nodes, virtualNodes), loadFactor);
  }

  /** Number of nodes. */
  get size(): number {
    return this.#core.size;
  }

  /** Number of keys assigned. */
  get assigned(): number {
    return this.#assigned;
  }

  /** Most keys node `rank` may hold when `total` keys are assigned. */
  #cap(rank: number, total: number): number {
    return Math.ceil((this.loadFactor * total * (this.#core.weights[rank] as number)) / this.#totalWeight);
  }

  /** First node clockwise from `position` below its cap for `total` keys, skipping `exclude`. */
  #walk(position: number, total: number, exclude: number): number {
    const core = this.#core;
    const { owners } = core;
    const length = owners.length;
    let i = core.find(position);
    for (let step = 0; step < length; step++) {
      const owner = owners[i] as number;
      if (owner !== exclude && (this.#loads[owner] as number) < this.#cap(owner, total)) return owner;
      i = i + 1 === length ? 0 : i + 1;
    }
    // Unreachable with c ≥ 1 (the caps add up to at least `total`); the least loaded node keeps the promise
    // never to refuse a key even if float rounding ever said otherwise.
    let best = exclude === 0 ? 1 : 0;
    for (let r = 0; r < this.#loads.length; r++) {
      if (r !== exclude && (this.#loads[r] as number) < (this.#loads[best] as number)) best = r;
    }
    return best;
  }

  #find(key: ShardKey): Assignment | undefined {
    return typeof key === 'string' ? this.#byString.get(key) : this.#byBytes.get(bytesId(key));
  }

  #attach(entry: Assignment, rank: number): void {
    const members = this.#members[rank] as Assignment[];
    entry.node = this.#core.ids[rank] as string;
    entry.slot = members.length;
    members.push(entry);
    this.#shift(rank, 1);
  }

  #detach(entry: Assignment): void {
    const rank = this.#core.ranks.get(entry.node) as number;
    const members = this.#members[rank] as Assignment[];
    const last = members.pop() as Assignment;
    if (last !== entry) {
      members[entry.slot] = last;
      last.slot = entry.slot;
    }
    this.#shift(rank, -1);
  }

  /**
   * Assigns `key` to a node and returns it: the first node clockwise from the key's hash whose load is
   * below ⌈c · (assigned + 1) · weight / total weight⌉. A key already assigned keeps its node (and is not
   * counted twice).
   *
   * @param key - A string (hashed as UTF-8) or bytes; a string and bytes are different keys.
   * @throws {@link EmptyRingError} when the ring has no node; {@link ValidationError} on a bad key.
   */
  assign(key: ShardKey): string {
    checkKey(key);
    if (this.#core.size === 0) throw new EmptyRingError('BoundedLoadRing.assign');
    const existing = this.#find(key);
    if (existing !== undefined) return existing.node;
    const position = keyPosition(key);
    const rank = this.#walk(position, this.#assigned + 1, -1);
    const stored = typeof key === 'string' ? key : key.slice();
    const entry: Assignment = { key: stored, position, node: '', slot: 0 };
    this.#attach(entry, rank);
    if (typeof stored === 'string') this.#byString.set(stored, entry);
    else this.#byBytes.set(bytesId(stored), entry);
    this.#assigned++;
    return entry.node;
  }

  /**
   * Releases `key`. When that lowers the cap below some node's load, that node sheds keys to the next
   * nodes clockwise with room (reported on {@link BoundedLoadRing.onMove}).
   *
   * @param key - A key given to `assign`.
   * @returns Whether the key was assigned.
   * @throws {@link ValidationError} on a bad key.
   */
  release(key: ShardKey): boolean {
    checkKey(key);
    const entry = this.#find(key);
    if (entry === undefined) return false;
    this.#detach(entry);
    if (typeof key === 'string') this.#byString.delete(key);
    else this.#byBytes.delete(bytesId(key));
    this.#assigned--;
    this.#emit(this.#shed());
    return true;
  }

  /** Moves keys off every node above its cap; returns the moves. */
  #shed(): BoundedLoadMove[] {
    const moves: BoundedLoadMove[] = [];
    const total = this.#assigned;
    for (const group of this.#groups) {
      // Every node of a group has the same cap: nothing to do unless the group's highest load is above it.
      const cap = this.#cap(group.ranks[0] as number, total);
      if (group.max <= cap) continue;
      for (const rank of group.ranks) {
        const members = this.#members[rank] as Assignment[];
        while (members.length > cap) {
          const entry = members[members.length - 1] as Assignment;
          const from = entry.node;
          this.#detach(entry);
          this.#attach(entry, this.#walk(entry.position, total, rank));
          moves.push({ key: entry.key, from, to: entry.node, reason: 'capacity' });
        }
      }
    }
    return moves;
  }

  #emit(moves: readonly BoundedLoadMove[]): void {
    for (const move of moves) this.#moved.emit(move);
  }

  /**
   * The node holding `key`; for a key not assigned, the node `assign(key)` would choose now (nothing is
   * assigned). This is the {@link Router} view, used by {@link compareRouting} and {@link ShardRouter}.
   *
   * @param key - A string (hashed as UTF-8) or bytes.
   * @throws {@link EmptyRingError} when the ring has no node; {@link ValidationError} on a bad key.
   */
  get(key: ShardKey): string {
    checkKey(key);
    if (this.#core.size === 0) throw new EmptyRingError('BoundedLoadRing.get');
    const existing = this.#find(key);
    if (existing !== undefined) return existing.node;
    return this.#core.ids[this.#walk(keyPosition(key), this.#assigned + 1, -1)] as string;
  }

  /**
   * The node holding `key`, or `undefined` when it is not assigned.
   *
   * @throws {@link ValidationError} on a bad key.
   */
  assignedTo(key: ShardKey): string | undefined {
    checkKey(key);
    return this.#find(key)?.node;
  }

  /** Keys held by each node, in the order the nodes were added. */
  loads(): Map<string, number> {
    const core = this.#core;
    return new Map(core.order.map((id) => [id, this.#loads[core.ranks.get(id) as number] as number]));
  }

  /**
   * The most keys `id` may hold now: ⌈c · assigned · weight / total weight⌉.
   *
   * @throws {@link UnknownNodeError} when no such node is on the ring.
   */
  capacity(id: string): number {
    const rank = this.#core.ranks.get(id);
    if (rank === undefined) throw new UnknownNodeError(id, 'BoundedLoadRing.capacity');
    return this.#cap(rank, this.#assigned);
  }

  /**
   * Adds a node. Existing assignments stay unless the lower cap (one more node) puts a node over it; such
   * nodes shed their latest keys to the next node clockwise with room, reported on
   * {@link BoundedLoadRing.onMove}.
   *
   * @param node - An id (weight 1) or `{ id, weight }`.
   * @throws {@link DuplicateNodeError} when the id is on the ring; {@link ValidationError} on a bad node.
   */
  add(node: NodeInput): void {
    const parsed = parseNode(node, 'node');
    const core = this.#core;
    if (core.ranks.has(parsed.id)) throw new DuplicateNodeError(parsed.id, 'BoundedLoadRing.add');
    checkRingRoom(node, core.virtualNodes, parsed.weight, core.pointsAfterAdding(parsed.weight), core.size + 1, 'node');
    core.add(parsed);
    const rank = core.ranks.get(parsed.id) as number;
    this.#loads.splice(rank, 0, 0);
    this.#members.splice(rank, 0, []);
    this.#totalWeight += parsed.weight;
    this.#regroup();
    this.#emit(this.#shed());
  }

  /**
   * Removes a node; each of its keys goes to the first node clockwise from the key's hash with room (the
   * cap rises with one node fewer, so no other key moves). Moves are reported on
   * {@link BoundedLoadRing.onMove}.
   *
   * @param id - The node's id.
   * @throws {@link UnknownNodeError} when no such node is on the ring; {@link EmptyRingError} when it is the
   * last node and keys are still assigned; {@link ValidationError} on a bad id. The ring is unchanged then.
   */
  remove(id: string): void {
    checkNodeId(id, 'id');
    const core = this.#core;
    const rank = core.ranks.get(id);
    if (rank === undefined) throw new UnknownNodeError(id, 'BoundedLoadRing.remove');
    const orphans = this.#members[rank] as Assignment[];
    if (core.size === 1 && orphans.length > 0) {
      throw new EmptyRingError(
        'BoundedLoadRing.remove',
        `BoundedLoadRing.remove: ${JSON.stringify(id)} is the last node and still holds ${orphans.length} key(s); ` +
          'release them or add a node first',
      );
    }
    core.remove(id);
    this.#loads.splice(rank, 1);
    this.#members.splice(rank, 1);
    this.#totalWeight = core.weights.reduce((a, b) => a + b, 0);
    this.#regroup();
    const moves: BoundedLoadMove[] = [];
    for (const entry of orphans) {
      this.#attach(entry, this.#walk(entry.position, this.#assigned, -1));
      moves.push({ key: entry.key, from: id, to: entry.node, reason: 'nodeRemoved' });
    }
    this.#emit(moves);
  }

  /** True when `id` is on the ring. */
  has(id: string): boolean {
    return this.#core.ranks.has(id);
  }

  /** The node ids, in the order they were added. */
  nodes(): string[] {
    return [...this.#core.order];
  }

  /**
   * The weight `id` was added with.
   *
   * @throws {@link UnknownNodeError} when no such node is on the ring.
   */
  weightOf(id: string): number {
    const rank = this.#core.ranks.get(id);
    if (rank === undefined) throw new UnknownNodeError(id, 'BoundedLoadRing.weightOf');
    return this.#core.weights[rank] as number;
  }

  /** An independent copy with the same nodes and assignments (and no listeners). */
  clone(): BoundedLoadRing {
    const copy = new BoundedLoadRing(this.#core.clone(), this.loadFactor);
    for (const members of this.#members) {
      for (const entry of members) {
        const twin: Assignment = { key: entry.key, position: entry.position, node: '', slot: 0 };
        copy.#attach(twin, copy.#core.ranks.get(entry.node) as number);
        if (typeof twin.key === 'string') copy.#byString.set(twin.key, twin);
        else copy.#byBytes.set(bytesId(twin.key), twin);
      }
    }
    copy.#assigned = this.#assigned;
    return copy;
  }
}
