import { describe, it } from 'vitest';
import { MemoryInventoryStore, runInventoryStoreContract } from '../../src/inventory/index.js';

describe('MemoryInventoryStore passes the InventoryStore contract', () => {
  runInventoryStoreContract(it, () => new MemoryInventoryStore());
});
