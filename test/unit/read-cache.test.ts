import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreChanges, trackingPool } from '../../src/store/changes.ts';
import { ReadCache } from '../../src/store/read-cache.ts';

describe('ReadCache', () => {
  const counting = () => {
    let made = 0;
    return { make: async () => `text ${++made}`, made: () => made };
  };

  test('answers from memory until the store changes', async () => {
    const changes = new StoreChanges();
    const cache = new ReadCache(changes);
    const source = counting();
    assert.equal(String(await cache.bytes('a', source.make)), 'text 1');
    assert.equal(String(await cache.bytes('a', source.make)), 'text 1');
    assert.equal(String(await cache.bytes('b', source.make)), 'text 2', 'another key is made apart');
    changes.bump();
    assert.equal(String(await cache.bytes('a', source.make)), 'text 3');
    assert.equal(source.made(), 3);
  });

  test('keeps nothing a write overlapped, and nothing while other processes could go unheard', async () => {
    const changes = new StoreChanges();
    const cache = new ReadCache(changes);
    const source = counting();
    await cache.bytes('a', async () => {
      changes.bump(); // a write ends while the page is read
      return source.make();
    });
    assert.equal(String(await cache.bytes('a', source.make)), 'text 2', 'made again: the first text may predate the write');
    changes.complete = false;
    await cache.bytes('a', source.make);
    assert.equal(String(await cache.bytes('a', source.make)), 'text 4');
  });

  test('drops the least recently used beyond its size', async () => {
    const cache = new ReadCache(new StoreChanges(), 10);
    const source = counting();
    await cache.bytes('a', source.make); // 6 bytes
    await cache.bytes('b', source.make); // 6 more: over 10, "a" goes
    assert.equal(String(await cache.bytes('b', source.make)), 'text 2');
    assert.equal(String(await cache.bytes('a', source.make)), 'text 3', '"a" was dropped and made again');
    assert.equal(String(await cache.bytes('a', source.make)), 'text 3');
  });
});

describe('trackingPool', () => {
  /** A pool of one client that records nothing and answers every query with no rows. */
  function pool() {
    const client = { query: async (sql: string) => (sql.includes('fail') ? Promise.reject(new Error('refused')) : { rows: [] }), release() {} };
    return { connect: async () => client, end: async () => {} };
  }

  test('moves the counter after writes to phones, servers or custom images, and again when their transaction ends', async () => {
    const changes = new StoreChanges();
    const client = await trackingPool(pool(), changes).connect();
    const after = async (sql: string) => {
      const before = changes.generation;
      await client.query(sql, []).catch(() => {});
      return changes.generation - before;
    };
    assert.equal(await after('select * from phones'), 0);
    assert.equal(await after('update jobs set state = 2'), 0, 'other tables are not tracked');
    assert.equal(await after('commit'), 0, 'a transaction that wrote nothing tracked');
    assert.equal(await after('begin'), 0);
    assert.equal(await after('update "phones" set "status" = $1'), 1);
    assert.equal(await after('insert into servers values (1)'), 1);
    assert.equal(await after('commit'), 1, 'the rows become visible at commit');
    assert.equal(await after('commit'), 0);
    assert.equal(await after('delete from custom_images where fail'), 1, 'a failed write may still have taken effect in its transaction');
    assert.equal(await after('rollback'), 1);
  });
});
