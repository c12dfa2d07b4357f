import { describe, expect, it } from 'vitest';
import { RowVersions, VersionView } from './row-versions.ts';

const rows = (...pairs: [number, number][]) => pairs.map(([id, version]) => ({ id, version }));

/** A deterministic generator, so a failure replays. */
function random(seed: number) {
  let s = seed;
  return (n: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % n;
  };
}

describe('RowVersions', () => {
  it('finds every row of a page and nothing between or beyond them', () => {
    const page = RowVersions.of(rows([2, 1], [5, 3], [9, 7], [2 ** 40, 2]));
    expect([page.length, page.first, page.last]).toEqual([4, 2, 2 ** 40]);
    expect([2, 5, 9, 2 ** 40].map((id) => page.versionOf(id))).toEqual([1, 3, 7, 2]);
    expect([1, 3, 6, 10, 2 ** 40 + 1].map((id) => page.versionOf(id))).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(RowVersions.of([]).versionOf(1)).toBeUndefined();
  });

  it('refuses rows out of id order', () => {
    expect(() => RowVersions.of(rows([3, 1], [3, 2]))).toThrow(/out of id order/);
    expect(() => RowVersions.of(rows([3, 1], [2, 1]))).toThrow(/out of id order/);
  });
});

describe('VersionView', () => {
  it('answers as a map filled with the same pages and changes would, under random use', () => {
    const next = random(7);
    for (let trial = 0; trial < 50; trial++) {
      const view = new VersionView();
      const reference = new Map<number, number>();
      let id = 0;
      for (let p = next(6); p > 0; p--) {
        const page: [number, number][] = [];
        for (let r = next(40); r > 0; r--) {
          id += 1 + next(3);
          page.push([id, 1 + next(9)]);
        }
        view.addPage(RowVersions.of(rows(...page)));
        for (const [i, v] of page) reference.set(i, v);
      }
      for (let op = 0; op < 300; op++) {
        const target = next(id + 20);
        const kind = next(3);
        if (kind === 0) {
          const version = 1 + next(20);
          view.set(target, version);
          reference.set(target, version);
        } else if (kind === 1) {
          view.delete(target);
          reference.delete(target);
        }
        expect(view.get(target)).toBe(reference.get(target));
      }
      for (let i = 0; i < id + 20; i++) expect(view.get(i)).toBe(reference.get(i));
      expect(view.size).toBe(reference.size);
      view.clear();
      expect([view.size, view.get(1)]).toEqual([0, undefined]);
    }
  });

  it('counts the ids it holds, from pages and beyond them', () => {
    const view = new VersionView();
    view.addPage(RowVersions.of(rows([1, 1], [2, 1])));
    view.addPage(RowVersions.of([]));
    view.set(2, 5);
    view.set(7, 1);
    view.set(7, 2);
    expect(view.size).toBe(3);
    view.delete(7);
    view.delete(1);
    view.delete(1);
    expect([view.size, view.get(1), view.get(2), view.get(7)]).toEqual([1, undefined, 5, undefined]);
    view.set(1, 4);
    expect([view.size, view.get(1)]).toEqual([2, 4]);
  });

  it('refuses a page that does not follow the ones it holds', () => {
    const view = new VersionView();
    view.addPage(RowVersions.of(rows([5, 1], [8, 1])));
    expect(() => view.addPage(RowVersions.of(rows([8, 2])))).toThrow(/after one ending at 8/);
  });
});
