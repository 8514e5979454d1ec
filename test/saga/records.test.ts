import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, type JsonValue, sha256Hex } from '../../src/core/index.js';
import {
  isTerminalSagaRecord,
  SAGA_GENESIS_HASH,
  type SagaEntry,
  type SagaRecord,
  type SagaRecordBody,
  sealSagaRecord,
  verifySagaRecords,
} from '../../src/saga/index.js';

const json: fc.Arbitrary<JsonValue> = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<JsonValue>;
const error = fc.record({ name: fc.string(), message: fc.string() }, { requiredKeys: ['name', 'message'] });

const body: fc.Arbitrary<SagaRecordBody> = fc.oneof(
  fc.record({
    type: fc.constant('saga_started' as const),
    saga: fc.string({ minLength: 1 }),
    steps: fc.array(fc.string({ unit: 'binary' }), { maxLength: 4 }),
    input: fc.option(json, { nil: undefined }),
  }),
  fc.record({ type: fc.constant('step_started' as const), step: fc.string({ unit: 'binary' }), attempt: fc.nat() }),
  fc.record({
    type: fc.constant('step_completed' as const),
    step: fc.string({ unit: 'binary' }),
    output: fc.option(json, { nil: undefined }),
  }),
  fc.record({
    type: fc.constant('step_failed' as const),
    step: fc.string(),
    attempt: fc.nat(),
    error,
    retryInMs: fc.option(fc.nat(), { nil: undefined }),
  }),
  fc.record({
    type: fc.constant('saga_needs_intervention' as const),
    phase: fc.constantFrom('forward' as const, 'compensation' as const),
    step: fc.string(),
    error,
  }),
  fc.constant({ type: 'saga_completed' as const }),
);

function seal(sagaId: string, bodies: readonly SagaRecordBody[]): SagaRecord[] {
  const out: SagaRecord[] = [];
  for (const [seq, b] of bodies.entries()) {
    const entry = Object.assign({ sagaId, seq, at: 1_000 + seq, owner: 'owner' }, b) as SagaEntry;
    out.push(sealSagaRecord(entry, out[seq - 1]?.hash ?? SAGA_GENESIS_HASH));
  }
  return out;
}

describe('sealSagaRecord', () => {
  it('hashes exactly the canonical JSON of the record without its hash (property)', () => {
    const numbers = fc.oneof(
      fc.nat(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(-0, 1e21, 5e-324),
    );
    const prevs = fc.oneof(fc.constant(SAGA_GENESIS_HASH), fc.stringMatching(/^[0-9a-f]{64}$/), fc.string());
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, unit: 'binary' }),
        body,
        fc.nat(),
        numbers,
        fc.string({ unit: 'binary' }),
        prevs,
        (sagaId, b, seq, at, owner, prev) => {
          // Drop absent optional fields, as the orchestrator never writes `undefined`.
          const entry = JSON.parse(JSON.stringify(Object.assign({ sagaId, seq, at, owner }, b))) as SagaEntry;
          if (Object.is(at, -0)) (entry as { at: number }).at = -0;
          const record = sealSagaRecord(entry, prev);
          const { hash, ...rest } = record;
          expect(hash).toBe(sha256Hex(canonicalJson(rest)));
          expect(rest).toEqual({ ...entry, prev });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('does not depend on key order, and takes fields it does not know into the hash', () => {
    const a = sealSagaRecord({ sagaId: 's', seq: 0, at: 1, owner: 'o', type: 'saga_completed' }, SAGA_GENESIS_HASH);
    const b = sealSagaRecord(
      { type: 'saga_completed', owner: 'o', at: 1, seq: 0, sagaId: 's' } as SagaEntry,
      SAGA_GENESIS_HASH,
    );
    expect(a.hash).toBe(b.hash);
    const extra = sealSagaRecord(
      { sagaId: 's', seq: 0, at: 1, owner: 'o', type: 'saga_completed', note: 'x' } as SagaEntry,
      SAGA_GENESIS_HASH,
    );
    expect(extra.hash).not.toBe(a.hash);
    expect(verifySagaRecords([extra]).ok).toBe(true);
  });
});

describe('verifySagaRecords', () => {
  const chains = fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.array(body, { minLength: 2, maxLength: 12 }));

  it('accepts an intact chain and reports its head', () => {
    fc.assert(
      fc.property(chains, ([sagaId, bodies]) => {
        const records = seal(sagaId, bodies);
        expect(verifySagaRecords(records)).toEqual({
          ok: true,
          sagaId,
          records: records.length,
          head: records.at(-1)?.hash,
        });
      }),
      { numRuns: 100 },
    );
  });

  it('detects any edited record (property)', () => {
    fc.assert(
      fc.property(chains, fc.nat(), fc.string(), ([sagaId, bodies], at, owner) => {
        const records = seal(sagaId, bodies);
        const i = at % records.length;
        fc.pre((records[i] as SagaRecord).owner !== owner);
        const edited = records.map((r, k) => (k === i ? ({ ...r, owner } as SagaRecord) : r));
        const verdict = verifySagaRecords(edited);
        expect(verdict).toMatchObject({ ok: false, index: i, problem: 'edited' });
      }),
      { numRuns: 150 },
    );
  });

  it('detects a removed, duplicated or reordered record (property)', () => {
    fc.assert(
      fc.property(
        chains,
        fc.nat(),
        fc.nat(),
        fc.constantFrom('remove', 'duplicate', 'swap'),
        ([sagaId, bodies], x, y, how) => {
          const records = seal(sagaId, bodies);
          const i = x % records.length;
          let broken: SagaRecord[];
          if (how === 'remove') {
            fc.pre(i < records.length - 1); // a removed tail needs an anchor: next test
            broken = records.filter((_, k) => k !== i);
          } else if (how === 'duplicate') {
            broken = [...records.slice(0, i + 1), records[i] as SagaRecord, ...records.slice(i + 1)];
          } else {
            const j = y % records.length;
            fc.pre(i !== j);
            broken = [...records];
            [broken[i], broken[j]] = [records[j] as SagaRecord, records[i] as SagaRecord];
          }
          const verdict = verifySagaRecords(broken);
          expect(verdict.ok).toBe(false);
          if (!verdict.ok) expect(['sequence', 'link']).toContain(verdict.problem);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('detects a removed tail against an anchored head, and accepts growth past it', () => {
    const records = seal('s', [
      { type: 'saga_started', saga: 'x', steps: ['a'] },
      { type: 'step_started', step: 'a', attempt: 1 },
      { type: 'step_completed', step: 'a' },
    ]);
    const anchor = verifySagaRecords(records.slice(0, 2));
    expect(anchor.ok).toBe(true);
    const head = anchor.ok ? anchor.head : '';
    expect(verifySagaRecords(records, { expectedHead: head }).ok).toBe(true);
    expect(verifySagaRecords(records.slice(0, 1), { expectedHead: head })).toMatchObject({
      ok: false,
      problem: 'head',
    });
  });

  it('detects records of another saga and malformed ones', () => {
    const mine = seal('mine', [{ type: 'saga_started', saga: 'x', steps: [] }, { type: 'saga_completed' }]);
    const theirs = seal('theirs', [{ type: 'saga_started', saga: 'x', steps: [] }, { type: 'saga_completed' }]);
    expect(verifySagaRecords([mine[0] as SagaRecord, theirs[1] as SagaRecord])).toMatchObject({
      ok: false,
      index: 1,
      problem: 'saga',
    });
    expect(verifySagaRecords([{ ...mine[0], hash: 'short' } as SagaRecord])).toMatchObject({ problem: 'malformed' });
    expect(verifySagaRecords(mine, { sagaId: 'theirs' })).toMatchObject({ ok: false, problem: 'saga' });
  });
});

describe('isTerminalSagaRecord', () => {
  it('is true only for saga_completed and saga_compensated', () => {
    expect(
      ['saga_completed', 'saga_compensated', 'saga_needs_intervention', 'step_completed'].map((type) =>
        isTerminalSagaRecord({ type }),
      ),
    ).toEqual([true, true, false, false]);
  });
});
